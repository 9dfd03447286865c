/**
 * A probe, not a benchmark: CPU of the migration's state writes alone (intent rows
 * before each batch's APPENDs, results after), 8 users x 1,500 messages in batches
 * of 200, on a fresh SQLite store, for the ways of writing them in state.ts.
 *
 *   npx tsx bench/lib/state-probe.ts [--rounds 3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { openStore } from '../../src/store/index.js';
import { MigrationState, type MessageWrite } from '../../src/migration/state.js';

type Mode = 'two-tx' | 'merged-tx';

async function one(mode: Mode, dir: string, i: number): Promise<number> {
  const store = await openStore({ sqlite: join(dir, `s-${mode}-${i}.db`) });
  const state = new MigrationState(store.db);
  const folders = ['INBOX', 'Sent', 'Archive', 'Archive.2024', 'Lists.dev', 'Projects', 'Trash', 'Drafts'];
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: 8 }, async (_, u) => {
    const address = `user${u}@example.com`;
    let uid = 0;
    for (const f of folders) {
      let pendingDone: MessageWrite[] = [];
      for (let b = 0; b < 1500 / folders.length / 500 + 1; b++) {
        const n = Math.min(500, Math.round(1500 / folders.length) - b * 500);
        if (n <= 0) break;
        const intents: MessageWrite[] = Array.from({ length: n }, () => {
          uid++;
          const sha = createHash('sha256').update(String(uid)).digest('hex');
          return { uid, state: 'intent', size: 3000 + uid, sha256: sha, key: `${uid}:${sha.slice(0, 20)}`, flags: ['\\Seen'] };
        });
        if (mode === 'two-tx') {
          await state.writeMessages(address, f, intents);
          await new Promise((r) => setImmediate(r));
          await state.writeMessages(address, f, intents.map((w) => ({ ...w, state: 'done', targetUid: w.uid })));
        } else {
          await state.writeMessages(address, f, [...pendingDone, ...intents]);
          await new Promise((r) => setImmediate(r));
          pendingDone = intents.map((w) => ({ ...w, state: 'done', targetUid: w.uid }));
        }
      }
      if (pendingDone.length) await state.writeMessages(address, f, pendingDone);
    }
  }));
  const c = process.cpuUsage(cpu0);
  await store.close();
  return (c.user + c.system) / 1e6;
}

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1] ?? 3) || 3;
const dir = mkdtempSync(join(tmpdir(), 'mb-state-probe-'));
try {
  const modes: Mode[] = ['two-tx', 'merged-tx'];
  for (let r = 0; r < rounds; r++) {
    for (const m of r % 2 ? [...modes].reverse() : modes) console.log(`${m.padEnd(10)} ${(await one(m, dir, r)).toFixed(2)} s CPU`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
