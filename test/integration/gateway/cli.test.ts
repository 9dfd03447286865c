/** The gateway commands as a user runs them: gateway, route explain, queue, track. */
import { freePort } from '../../harness/process.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, startChild, stopChild, writeConfig } from './child.js';
import { sendRaw, startSink, tempDir } from './helpers.js';


test('gateway, route explain, queue list/show/hold/release, track', async (t) => {
  const dir = tempDir(t);
  const backendPort = await freePort();
  const gatewayPort = await freePort();
  const config = writeConfig({ dir, gatewayPort, backendPort, people: ['ann@example.com,Ann,ann.a@example.com', 'bob@example.com,Bob,'] });

  const explain = await runCli(config, ['route', 'explain', 'ann.a@example.com', '--json']);
  assert.equal(explain.code, 0, explain.stderr);
  const doc = JSON.parse(explain.stdout) as { kind: string; system: string; reason: string };
  assert.equal(doc.kind, 'system');
  assert.equal(doc.system, 'legacy');
  assert.match(doc.reason, /alias of ann@example.com/);
  const unknown = await runCli(config, ['route', 'explain', 'zed@example.com']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stdout, /unknown/);

  const gw = await startChild(config);
  t.after(() => stopChild(gw));
  const r = await sendRaw(gatewayPort, 'a@example.org', ['ann@example.com', 'bob@example.com'], 'Message-ID: <cli1@x>\r\nSubject: q\r\n\r\nhi\r\n');
  const id = /queued as (\S+)/.exec(r)![1]!;

  const list = await runCli(config, ['queue', 'list', '--json']);
  assert.equal(list.code, 0, list.stderr);
  const msgs = (JSON.parse(list.stdout) as { messages: { id: string }[] }).messages;
  assert.deepEqual(msgs.map((m) => m.id), [id]);
  const show = await runCli(config, ['queue', 'show', id]);
  assert.match(show.stdout, /<ann@example.com> (queued|deferred)/);

  const hold = await runCli(config, ['queue', 'hold', id, '--json']);
  assert.equal(hold.code, 0, hold.stderr);
  assert.match(hold.stdout, /running gateway/);
  const missing = await runCli(config, ['queue', 'hold', 'NOSUCHID0000000000X']);
  assert.equal(missing.code, 1);

  const sink = await startSink(t, { port: backendPort });
  // The running gateway applies the request before its next scan; its journal (read by `queue show`) shows it.
  const held = async (): Promise<boolean> => {
    const r = await runCli(config, ['queue', 'show', id, '--json']);
    return r.code === 0 && (JSON.parse(r.stdout) as { message: { held: boolean } }).message.held;
  };
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !(await held())) await new Promise((res) => setTimeout(res, 100));
  assert.ok(await held(), 'queue show reports the message held');
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(sink.messages.length, 0, 'held: not delivered although the backend is up');
  await runCli(config, ['queue', 'release', id]);
  await sink.waitFor(1);

  await stopChild(gw);
  const track = await runCli(config, ['track', '--message-id', '<cli1@x>', '--json']);
  assert.equal(track.code, 0, track.stderr);
  const events = (JSON.parse(track.stdout) as { events: { event: string; recipient: string | null }[] }).events.map((e) => e.event);
  for (const e of ['received', 'held', 'released', 'delivered']) assert.ok(events.includes(e), `${e} in ${events.join(',')}`);
  const byTo = await runCli(config, ['track', '--to', 'bob@example.com']);
  assert.match(byTo.stdout, /delivered <a@example.org> -> <bob@example.com> via system:legacy/);
});
