/**
 * Unit tests (real files in a temp folder, faults injected through the
 * SpoolOptions.fault seam): a disk failure (ENOSPC, EIO, a write cut short)
 * at any file step of housekeeping (maintain(): moving messages out of old
 * segments, unlinking segments; journal compaction: snapshot write, sync,
 * rename, folder sync, unlink of the older files) loses nothing. After the
 * failure the spool is reopened (a copy of the folder, as a crash would leave
 * it) and, separately, the same process carries on (removals, compactions)
 * and is reopened: every message enqueued and not removed is there with its
 * exact bytes, recipient states and hold; nothing removed comes back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { appendFile, open as openFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MbError } from '../core/index.js';
import { Spool, type FaultHook, type SpoolOptions } from './spool.js';
import type { RecipientState, SpoolEnvelope, StateChange } from './types.js';

function tempDir(t: { after(fn: () => void): unknown }): string {
  const dir = mkdtempSync(join(tmpdir(), 'mb-spool-fault-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const env = (n: number): SpoolEnvelope => ({
  from: `s${n}@example.org`,
  recipients: [{ address: `a${n}@example.com` }, { address: `b${n}@example.com`, notify: ['SUCCESS'], orcpt: 'rfc822;b+2Bx@example.net' }],
  source: { kind: 'smtp', ip: '127.0.0.1' },
});

/** Distinct bytes per message, with CR, LF, NUL and 8-bit octets in them. */
const bodyOf = (n: number): Buffer => Buffer.concat([Buffer.from(`Subject: m${n}\r\n\r\n`), randomBytes(200 + n * 37), Buffer.from('\r\n.\r\n\0\xff end\r\n', 'latin1')]);

interface Expected { body: Buffer; removed: boolean; recipients: RecipientState[]; held: boolean }

class Model {
  readonly m = new Map<string, Expected>();
  constructor(readonly spool: Spool) {}

  async enqueue(n: number): Promise<string> {
    const body = bodyOf(n);
    const q = await this.spool.enqueue(env(n), body);
    this.m.set(q.id, { body, removed: false, recipients: structuredClone(q.recipients), held: q.held });
    return q.id;
  }

  /** A change the caller retries until it is acknowledged, as the delivery engine does; only then it counts. */
  async update(id: string, changes: StateChange[]): Promise<void> {
    const q = await retried(() => this.spool.update(id, changes));
    const e = this.m.get(id)!;
    e.recipients = structuredClone(q.recipients);
    e.held = q.held;
  }

  async remove(id: string): Promise<void> {
    await retried(() => this.spool.remove(id));
    this.m.get(id)!.removed = true;
  }

  /** Not removed, and not finished (a message whose recipients are all final is dropped at start: spool.ts finished()). */
  get live(): string[] {
    const finished = (e: Expected): boolean => e.recipients.every((r) => r.status === 'delivered' || (r.status === 'bounced' && r.failNotified === true));
    return [...this.m].filter(([, e]) => !e.removed && !finished(e)).map(([id]) => id).sort();
  }
}

async function retried<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      assert.ok(MbError.is(err, 'SPOOL_WRITE_FAILED') && err.retry === 'transient', `a transient SPOOL_WRITE_FAILED, got ${String(err)}`);
      if (i >= 3) throw err;
    }
  }
}

/** Reopens DIR and checks it against the model: the exact set of messages, bytes, states. */
async function verify(dir: string, model: Model, opts: SpoolOptions, what: string): Promise<Spool> {
  const { spool, quarantined } = await Spool.open(dir, opts);
  assert.deepEqual(quarantined, [], `${what}: nothing quarantined`);
  assert.deepEqual(spool.list().map((m) => m.id).sort(), model.live, `${what}: exactly the messages not removed`);
  for (const id of model.live) {
    const e = model.m.get(id)!;
    const got = spool.get(id)!;
    assert.deepEqual(await spool.readBody(id), e.body, `${what}: bytes of ${id}`);
    assert.deepEqual(got.recipients, e.recipients, `${what}: recipient states of ${id}`);
    assert.equal(got.held, e.held, `${what}: hold of ${id}`);
  }
  return spool;
}

type Mode = 'throw' | 'partial';
const injected = (step: string, code: string): Error => Object.assign(new Error(`injected ${code} at ${step}`), { code });

type Fault = [step: string, nth: number, mode: Mode];

/** Fails the nth call (counted from arming) of each step given, once (a write: half the bytes first, then ENOSPC). */
function injector(): { hook: FaultHook; arm: (faults: Fault[]) => void; fired: () => number } {
  let armed: Fault[] = [];
  const seen = new Map<string, number>();
  let fired = 0;
  const hook: FaultHook = async (s, path, data) => {
    if (!armed.some(([step]) => step === s)) return;
    const n = (seen.get(s) ?? 0) + 1;
    seen.set(s, n);
    const hit = armed.find(([step, nth]) => step === s && nth === n);
    if (!hit) return;
    fired++;
    if (hit[2] === 'partial' && data) {
      await appendFile(path, data.subarray(0, Math.floor(data.length / 2)));
      throw injected(s, 'ENOSPC');
    }
    throw injected(s, 'EIO');
  };
  return { hook, arm: (f) => { armed = f; seen.clear(); }, fired: () => fired };
}

const CASES: Fault[][] = [
  [['evacuate.write', 1, 'partial']], [['evacuate.write', 3, 'partial']],
  [['evacuate.sync', 1, 'throw']], [['evacuate.sync', 2, 'throw']],
  [['evacuate.rename', 1, 'throw']], [['evacuate.rename', 3, 'throw']],
  [['evacuate.renamed', 1, 'throw']], [['evacuate.renamed', 3, 'throw']],
  [['dir.sync', 1, 'throw']], [['dir.sync', 2, 'throw']], [['dir.sync', 3, 'throw']], [['dir.sync', 4, 'throw']],
  [['segment.unlink', 1, 'throw']], [['segment.unlink', 2, 'throw']],
  [['journal.write', 1, 'partial']], [['journal.write', 2, 'partial']],
  [['journal.sync', 1, 'throw']],
  [['journal.rename', 1, 'throw']],
  [['journal.renamed', 1, 'throw']], [['journal.renamed', 2, 'throw']],
  [['journal.unlink', 1, 'throw']],
  // Two in a row: a compaction whose rename took effect but reported failure, then the next compaction fails to write.
  [['journal.renamed', 1, 'throw'], ['journal.write', 2, 'partial']],
  [['journal.renamed', 1, 'throw'], ['dir.sync', 3, 'throw']],
  [['evacuate.renamed', 1, 'throw'], ['segment.unlink', 1, 'throw']],
  [['dir.sync', 1, 'throw'], ['dir.sync', 2, 'throw']],
];

const describe = (f: Fault[]): string => f.map(([step, nth, mode]) => `${step} (call ${nth}, ${mode === 'partial' ? 'half written, then ENOSPC' : 'EIO'})`).join(' and ');

for (const faults of CASES) {
  test(`a failure at ${describe(faults)} during housekeeping loses nothing and resurrects nothing`, async (t) => {
    const dir = tempDir(t);
    const inj = injector();
    // Small segments (about two messages each), every segment old enough to be moved out, a compaction after every journal batch.
    const opts: SpoolOptions = { segmentBytes: 900, evacuateAfterMs: 0, journalBytes: 1, fault: inj.hook };
    const { spool } = await Spool.open(dir, opts);
    const model = new Model(spool);
    const ids: string[] = [];
    for (let n = 0; n < 10; n++) ids.push(await model.enqueue(n));
    const [m0, m1, m2, m3, m4, m5, m6, m7, m8, m9] = ids as [string, string, string, string, string, string, string, string, string, string];
    await model.update(m0, [{ op: 'rcpt', index: 0, state: { status: 'delivered', attempts: 1, lastReply: '250 2.0.0 ok', updatedAt: 5 } }]);
    await model.update(m1, [{ op: 'rcpt', index: 1, state: { status: 'deferred', attempts: 2, nextAttempt: 99, lastReply: '451 4.3.0 later' } }, { op: 'hold' }]);
    await model.update(m2, [{ op: 'rcpt', index: 0, state: { status: 'delivered' } }, { op: 'rcpt', index: 1, state: { status: 'delivered' } }]);
    await model.remove(m2);
    await model.update(m3, [{ op: 'rcpt', index: 0, state: { status: 'bounced', failNotified: true } }, { op: 'rcpt', index: 1, state: { status: 'delivered' } }]);
    await model.remove(m3);

    // The failure, once, somewhere in housekeeping; what the caller retries is retried.
    inj.arm(faults);
    // A crash after each step: a copy of the folder as it is then, reopened.
    const crashRoot = tempDir(t);
    let crashes = 0;
    const crash = async (after: string): Promise<void> => {
      const copy = join(crashRoot, String(crashes++));
      cpSync(dir, copy, { recursive: true });
      await verify(copy, model, {}, `reopened after a crash following ${after}`);
    };
    const housekeep = async (): Promise<void> => {
      await spool.maintain().catch((e: unknown) => assert.ok(MbError.is(e, 'SPOOL_WRITE_FAILED'), String(e)));
    };
    await housekeep();
    await crash('the first maintain()');
    // Removed before any later housekeeping could redo a move that failed.
    for (const id of [m0, m1]) {
      await model.update(id, [{ op: 'rcpt', index: 1, state: { attempts: 5, lastReply: '452 4.2.2 full' } }]);
      await crash(`an update of ${id}`);
      await model.update(id, [{ op: 'rcpt', index: 0, state: { status: 'delivered' } }, { op: 'rcpt', index: 1, state: { status: 'delivered' } }]);
      await crash(`the last delivery of ${id}`);
      await model.remove(id);
      await crash(`the removal of ${id}`);
    }
    await model.update(m4, [{ op: 'rcpt', index: 1, state: { status: 'deferred', attempts: 1, nextAttempt: 7 } }]);
    await crash('an update');
    await model.update(m5, [{ op: 'rcpt', index: 0, state: { status: 'delivered' } }, { op: 'rcpt', index: 1, state: { status: 'delivered' } }]);
    await model.remove(m5);
    await crash('a removal');
    await model.update(m6, [{ op: 'release' }]);
    await housekeep();
    await crash('the second maintain()');
    await model.update(m7, [{ op: 'rcpt', index: 0, state: { status: 'deferred', attempts: 3, lastReply: '421 busy' } }]);
    await crash('an update');
    await housekeep();
    await crash('the third maintain()');
    assert.equal(inj.fired(), faults.length, `each fault was reached: ${describe(faults)}`);

    // The same process carries on: more removals, moves and compactions, then a restart.
    for (const id of [m6, m8]) {
      await model.update(id, [{ op: 'rcpt', index: 0, state: { status: 'delivered' } }, { op: 'rcpt', index: 1, state: { status: 'delivered' } }]);
      await model.remove(id);
    }
    await housekeep();
    await model.update(m9, [{ op: 'rcpt', index: 0, state: { status: 'deferred', attempts: 1 } }]);
    await spool.maintain();
    await model.update(m9, [{ op: 'hold' }]);
    const again = await verify(dir, model, {}, 'reopened after carrying on');

    // And once more after the reopened spool has compacted and housekept on its own.
    const model2 = Object.assign(new Model(again), { m: model.m });
    await model2.update(m4, [{ op: 'rcpt', index: 0, state: { status: 'delivered' } }, { op: 'rcpt', index: 1, state: { status: 'delivered' } }]);
    await model2.remove(m4);
    await again.maintain();
    await model2.update(m7, [{ op: 'retry' }]);
    await verify(dir, model2, {}, 'reopened a second time');
  });
}

test('sealing the current segment in maintain() while a batch is being written to it loses nothing', async (t) => {
  const dir = tempDir(t);
  let gate: (() => void) | undefined;
  let writing: (() => void) | undefined;
  const started = new Promise<void>((r) => { writing = r; });
  // The write of a batch, as segment.ts does it (open, then write and sync), held between the open and the write.
  const writeHook = async (path: string, data: Buffer): Promise<void> => {
    const fh = await openFile(path, 'a', 0o600);
    try {
      if (gate === undefined && data.includes(Buffer.from('Subject: m1\r\n'))) {
        const release = new Promise<void>((r) => { gate = r; });
        writing!();
        await release;
      }
      await fh.write(data);
      await fh.datasync();
    } finally {
      await fh.close();
    }
  };
  const { spool } = await Spool.open(dir, { evacuateAfterMs: 0, writeHook });
  const model = new Model(spool);
  const a = await model.enqueue(0);
  await model.update(a, [{ op: 'rcpt', index: 0, state: { status: 'delivered' } }, { op: 'rcpt', index: 1, state: { status: 'delivered' } }]);
  await model.remove(a);
  // The segment holds no queued message now; a new batch is on its way into it.
  const pending = model.enqueue(1);
  await started;
  await spool.maintain();
  gate!();
  const b = await pending;
  assert.deepEqual(await spool.readBody(b), model.m.get(b)!.body, 'readable in the running process');
  await verify(dir, model, {}, 'reopened');
});
