/**
 * kill -9 of the gateway process during a stream of messages, three times,
 * then a clean run to drain the queue. The backend records each delivery with
 * the queue id from our Received header and the Message-ID.
 *
 * Checked: every message that got a 250 is delivered to each of its
 * recipients under exactly one queue id (a repeated delivery under the same
 * queue id is the window between the backend's 250 and our state sync, which
 * the issue allows the backend to dedupe by queue id; we count and print it);
 * a message that got no 250 is delivered only if it was made durable in the
 * instant between the fsync and the reply (also counted and printed; bounded
 * by the sessions in flight at each kill).
 */
import { freePort } from '../../harness/process.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, startSink, tempDir } from './helpers.js';
import { startChild, stopChild, writeConfig, type Running } from './child.js';


const RCPTS = ['ann@example.com', 'bob@example.com'];
const SENDERS = 4;
const KILLS = 3;

/** One message per call; resolves 'acked' only on a 250 to the end of DATA. */
async function sendOne(port: number, n: number): Promise<'acked' | 'refused' | 'failed'> {
  let client: RawClient | undefined;
  try {
    ({ client } = await RawClient.open(port));
    await client.cmd('EHLO c.test');
    await client.cmd('MAIL FROM:<a@example.org>');
    for (const r of RCPTS) await client.cmd(`RCPT TO:<${r}>`);
    if (!(await client.cmd('DATA')).startsWith('354')) return 'refused';
    client.write(`Message-ID: <crash-${n}@test>\r\nSubject: ${n}\r\n\r\n${'body line\r\n'.repeat(20)}.\r\n`);
    const r = await client.reply(5000);
    return r.startsWith('250') ? 'acked' : r === '' ? 'failed' : 'refused';
  } catch {
    return 'failed';
  } finally {
    client?.close();
  }
}

test('kill -9 during a stream: every 250 delivered exactly once per recipient (by queue id), restart drains the queue', async (t) => {
  const dir = tempDir(t);
  // A slow backend keeps messages in the queue when the kill comes.
  const sink = await startSink(t, { delayMs: 15 });
  const gatewayPort = await freePort();
  const config = writeConfig({ dir, gatewayPort, backendPort: sink.port, people: RCPTS.map((a) => `${a},X,`) });

  const acked = new Set<number>();
  const unacked = new Set<number>();
  let next = 0;
  let stopSending = false;
  const senders = Array.from({ length: SENDERS }, async () => {
    while (!stopSending) {
      const n = next++;
      const r = await sendOne(gatewayPort, n);
      (r === 'acked' ? acked : unacked).add(n);
      if (r !== 'acked') await new Promise((res) => setTimeout(res, 200));
    }
  });

  let gw: Running = await startChild(config);
  t.after(() => stopChild(gw, 'SIGKILL'));
  for (let k = 0; k < KILLS; k++) {
    const target = acked.size + 40;
    while (acked.size < target) await new Promise((r) => setTimeout(r, 20));
    await stopChild(gw, 'SIGKILL');
    gw = await startChild(config);
  }
  const target = acked.size + 20;
  while (acked.size < target) await new Promise((r) => setTimeout(r, 20));
  stopSending = true;
  await Promise.all(senders);

  // Drain: every acked message reaches the backend for both recipients.
  const key = (mid: string, rcpt: string): string => `${mid} ${rcpt}`;
  const seen = (): Map<string, Set<string>> => {
    const out = new Map<string, Set<string>>();
    for (const m of sink.messages) {
      const text = m.body.toString('latin1');
      const mid = /Message-ID: <crash-(\d+)@test>/.exec(text)?.[1] ?? '?';
      const qid = /with E?SMTP id ([0-9A-Z]+)/.exec(text)?.[1] ?? '?';
      for (const r of m.to) {
        const k = key(mid, r);
        if (!out.has(k)) out.set(k, new Set());
        out.get(k)!.add(qid);
      }
    }
    return out;
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && [...acked].some((n) => RCPTS.some((r) => !seen().has(key(String(n), r))))) {
    await new Promise((r) => setTimeout(r, 200));
  }
  await stopChild(gw);

  const got = seen();
  const missing = [...acked].flatMap((n) => RCPTS.filter((r) => !got.has(key(String(n), r))).map((r) => `${n}/${r}`));
  assert.deepEqual(missing, [], 'every acked message delivered to every recipient');
  const twoIds = [...got].filter(([, ids]) => ids.size > 1).map(([k]) => k);
  assert.deepEqual(twoIds, [], 'no recipient got one message under two queue ids');
  const deliveries = sink.messages.reduce((s, m) => s + m.to.length, 0);
  const redelivered = deliveries - got.size;
  const unackedDelivered = [...unacked].filter((n) => RCPTS.some((r) => got.has(key(String(n), r))));
  assert.ok(unackedDelivered.length <= KILLS * SENDERS, `unacked but delivered: ${unackedDelivered.join(',')}`);
  console.log(`# crash test: ${acked.size} acked, ${unacked.size} unacked, ${KILLS} kills; ${redelivered} repeated deliveries (same queue id), ${unackedDelivered.length} unacked messages delivered`);
});
