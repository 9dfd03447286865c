/**
 * Memory stays flat with folder size (issue 3: "100,000 messages never need
 * 100,000 objects in memory at once"), at a size CI affords. Folders of N and
 * 4N small messages (loaded straight into the legacy maildir) are copied, then
 * verified with windows of 200 UIDs:
 *   - no UID FETCH of verify ever names more than the window, on either side;
 *   - what verify holds between windows (measured after a full GC at every
 *     other window) grows by a few bytes a message from N to 4N, not by the hundreds
 *     a message object costs;
 *   - every kind of difference is still found across windows (missing, extra,
 *     flags, content), and a reconcile after lost state with windows of 200
 *     matches every message by content: nothing appended, nothing deleted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { useLab, type LabInfo } from '../../harness/index.js';
import { newMigrationUsers } from '../../harness/mail.js';
import { MigrationState, migrateUser, type UserVerify } from '../../../src/migration/index.js';
import { verifyTarget } from '../../../src/migration/verify.js';
import type { FolderMapping } from '../../../src/protocol/imap/index.js';
import type { Store } from '../../../src/store/index.js';
import { engineDeps, msg, tempStore, withSession } from './setup.js';
import { loadInboxMaildir } from './maildir-load.js';

const N = 800;
const WINDOW = 200;
const INBOX: FolderMapping = { source: 'INBOX', target: 'INBOX', display: { source: 'INBOX', target: 'INBOX' }, reason: 'inbox' };

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const used = (): number => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** series: bytes held (heap + ArrayBuffers over the start, after a full GC) at every other window read, about one per window. */
interface Measured { v: UserVerify; maxRead: number; reads: number; series: number[] }

/** The floor of a stretch of points: what is held with no window in flight (a point can catch one in flight, ~1.5 MB). */
const floor = (xs: number[]): number => Math.min(...xs);

/** verifyTarget of INBOX with windows of 200; with `measure`, the bytes still held after a full GC, every other window. */
async function verifyInbox(lab: LabInfo, store: Store, address: string, measure = false): Promise<Measured> {
  return withSession(lab.dovecot.legacy, address, (source) => withSession(lab.dovecot.cloud, address, async (target) => {
    const v: UserVerify = { address, ok: true, folders: [], differences: [], normalized: [] };
    let maxRead = 0;
    let reads = 0;
    gc();
    gc();
    const base = used();
    const series: number[] = [];
    await verifyTarget({ address, source, target, state: new MigrationState(store.db), skipDeleted: true, window: WINDOW,
      probe: { onRead: (_side, n) => {
        maxRead = Math.max(maxRead, n);
        // A full GC at every other window: what is left is what verify holds across windows.
        if (reads++ % 2 === 0 && measure) { gc(); gc(); series.push(used() - base); }
      } } }, 'INBOX', [INBOX], v);
    v.ok = v.differences.length === 0;
    return { v, maxRead, reads, series };
  }));
}

test('memory: verify works in windows (held memory flat from N to 4N), finds every difference; reconcile after lost state in windows', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  let t0 = performance.now();
  const step = (what: string) => { t.diagnostic(`${what}: ${((performance.now() - t0) / 1000).toFixed(1)} s`); t0 = performance.now(); };
  const [small, large] = await newMigrationUsers(lab, 2, 'memwin');
  await loadInboxMaildir(lab.dovecot.legacy, lab.domain, small!.address, N, 's');
  await loadInboxMaildir(lab.dovecot.legacy, lab.domain, large!.address, 4 * N, 'l');
  step('load');
  const stores = [await tempStore(), await tempStore()];
  t.after(() => Promise.all(stores.map((s) => s.close())));
  for (const [i, u] of [small!, large!].entries()) {
    const r = await migrateUser(engineDeps(lab, stores[i]!), { address: u.address });
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.equal(r.totals.appended, (i === 0 ? 1 : 4) * N);
  }

  step('run');
  // A first verify compiles and warms everything, so the two measured ones differ only by their folders.
  await verifyInbox(lab, stores[0]!, small!.address);
  const a = await verifyInbox(lab, stores[0]!, small!.address, true);
  const b = await verifyInbox(lab, stores[1]!, large!.address, true);
  for (const [m, n] of [[a, N], [b, 4 * N]] as const) {
    assert.equal(m.v.ok, true, JSON.stringify(m.v.differences.slice(0, 5)));
    assert.equal(m.v.folders[0]!.equal, n);
    assert.equal(m.v.folders[0]!.sourceCount, n);
    assert.equal(m.v.folders[0]!.targetCount, n);
    assert.ok(m.maxRead <= WINDOW, `a FETCH named ${m.maxRead} UIDs, more than the window of ${WINDOW}`);
    assert.ok(m.reads >= (2 * n) / WINDOW, `${m.reads} window reads for ${n} messages on two sides`);
  }
  step('verify N and 4N');
  // Kept per message: two UIDs (4 bytes each) and a bit. The whole-folder read held a record per message and side
  // (uid, flags, two hex digests) and map entries: about 320 bytes a side, 640 for both (measured with node
  // --expose-gc); the bound leaves room for GC noise (a few hundred KB over 2,400 messages).
  // Floors, not maxima: a GC point may catch a window in flight or not (about 1.5 MB either way); the first point
  // comes before any window.
  const perMessage = (floor(b.series.slice(1)) - floor(a.series.slice(1))) / (3 * N);
  const kb = (x: number) => (x / 1024).toFixed(0);
  t.diagnostic(`held between windows (floor): ${kb(floor(a.series.slice(1)))} KB at ${N}, ${kb(floor(b.series.slice(1)))} KB at ${4 * N} (${perMessage.toFixed(1)} bytes per extra message)`);
  assert.ok(perMessage < 400, `verify holds ${perMessage.toFixed(0)} bytes per message more at ${4 * N} than at ${N}: it does not stay flat`);
  // Within the large folder: what is held late in the pass against early in it (second quarter of the points).
  const q = Math.floor(b.series.length / 4);
  const growth = (floor(b.series.slice(-q)) - floor(b.series.slice(q, 2 * q))) / ((b.series.length - 2 * q) * WINDOW);
  t.diagnostic(`held in the ${4 * N} pass: ${b.series.map(kb).join(' ')} KB (${growth.toFixed(1)} bytes per message gone through)`);
  assert.ok(growth < 150, `verify's held memory grows by ${growth.toFixed(0)} bytes per message it has gone through`);

  // Behind the engine's back, in different windows of the small folder: an expunge, a flag change, an extra
  // message, one body byte changed on the cloud's disk; and a new source message that was never copied.
  const marker = (n: number) => `<mem.s.${n}@example.org>`;
  await withSession(lab.dovecot.cloud, small!.address, async (c) => {
    await c.mailboxOpen('INBOX');
    const gone = await c.search({ header: { 'message-id': marker(100) } }, { uid: true });
    const flagged = await c.search({ header: { 'message-id': marker(500) } }, { uid: true });
    assert.equal((gone || []).length, 1);
    await c.messageDelete((gone || []).join(','), { uid: true });
    await c.messageFlagsAdd((flagged || []).join(','), ['$Changed'], { uid: true });
    await c.append('INBOX', msg('extra'), ['\\Seen'], new Date('2021-01-01T00:00:00Z'));
  });
  const [local] = small!.address.split('@');
  // A body line (never in Dovecot's header cache): "... amet 700" ends message 700's lines only.
  const file = filesUnder(join(lab.dovecot.cloud.dir, 'mail')).filter((p) => p.includes(local!) && /\/u\.\d+$/.test(p))
    .find((p) => { const b = readFileSync(p); return b.includes('amet 700\n') || b.includes('amet 700\r\n'); });
  assert.ok(file, 'the copy of message 700 on the cloud disk');
  writeFileSync(file, Buffer.from(readFileSync(file).toString('latin1').replace('lorem', 'LOREM'), 'latin1'));
  await withSession(lab.dovecot.legacy, small!.address, (c) => c.append('INBOX', msg('late'), [], new Date('2021-01-01T00:00:00Z')));
  const dirty = await verifyInbox(lab, stores[0]!, small!.address);
  const kinds = dirty.v.differences.map((d) => d.kind).sort();
  assert.deepEqual(kinds, ['content', 'extra', 'flags', 'missing', 'missing'], JSON.stringify(dirty.v.differences));
  assert.ok(dirty.maxRead <= WINDOW);

  step('alter and verify again');
  // Lost state for the large folder: a fresh store, windows of 200: every message found on the target by content.
  const lost = await tempStore();
  t.after(() => lost.close());
  const r = await migrateUser(engineDeps(lab, lost, { windowMessages: WINDOW }), { address: large!.address });
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  const inbox = r.folders.find((f) => f.source === 'INBOX')!;
  assert.equal(inbox.mode, 'reconcile');
  assert.equal(inbox.appended, 0, 'nothing appended twice');
  assert.equal(inbox.matched, 4 * N);
  step('reconcile');
  const again = await verifyInbox(lab, lost, large!.address);
  assert.equal(again.v.ok, true, JSON.stringify(again.v.differences.slice(0, 5)));
  assert.equal(again.v.folders[0]!.targetCount, 4 * N, 'nothing deleted, nothing duplicated');
});
