/**
 * A TCP pass-through on loopback that watches SMTP/LMTP traffic for the
 * gateway benchmark, to time each message from its 250 to its delivery:
 *
 * - in front of an MTA ("accept" tap): the server's "250 ... queued as ID"
 *   replies, with the time each passed;
 * - between the MTA and the sink ("deliver" tap): each DATA section the MTA
 *   sends, with the queue id from its topmost Received header ("with ESMTP id
 *   ID", as both Postfix and the gateway write it) and the time its final
 *   CRLF.CRLF passed.
 *
 * Both taps copy bytes unchanged; the cost (a Buffer.indexOf per chunk) is the
 * same for both MTAs under test.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface Tap {
  port: number;
  /** queue id -> epoch ms */
  times: Map<string, number>;
  close(): Promise<void>;
}

const QUEUED = /^250[ -].*queued as ([0-9A-Za-z]+)/gm;
const RECEIVED_ID = /(?:^|\n)Received:[^]*?\bwith [A-Z0-9]*SMTP[A-Z]* id ([0-9A-Za-z]+)/;
const EOD = Buffer.from('\r\n.\r\n');

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    resolve(typeof a === 'object' && a ? a.port : 0);
  }));
}

function pipeTap(targetPort: number, watch: (client: Socket, upstream: Socket) => void): Promise<{ server: Server; port: number }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = (): void => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    watch(client, upstream);
  });
  server.on('close', () => { for (const s of sockets) s.destroy(); });
  return listen(server).then((port) => ({ server, port }));
}

function closer(server: Server): () => Promise<void> {
  return () => new Promise((resolve) => { server.close(() => resolve()); server.emit('close'); });
}

/** Watches the server's replies for "250 ... queued as ID". */
export async function acceptTap(targetPort: number): Promise<Tap> {
  const times = new Map<string, number>();
  const { server, port } = await pipeTap(targetPort, (_client, upstream) => {
    let carry = '';
    upstream.on('data', (d: Buffer) => {
      const text = carry + d.toString('latin1');
      const now = Date.now();
      for (const m of text.matchAll(QUEUED)) times.set(m[1]!, now);
      carry = text.slice(text.lastIndexOf('\n') + 1);
    });
  });
  return { port, times, close: closer(server) };
}

/** Watches what the MTA sends the sink: the end of each DATA section, with the queue id of its top Received header. */
export async function deliverTap(targetPort: number): Promise<Tap> {
  const times = new Map<string, number>();
  const { server, port } = await pipeTap(targetPort, (client) => {
    let mode: 'cmd' | 'data' = 'cmd';
    let line = '';
    let head = '';
    let tail = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      let d = chunk;
      while (d.length > 0) {
        if (mode === 'cmd') {
          const nl = d.indexOf(0x0a);
          if (nl < 0) { line += d.toString('latin1'); return; }
          line += d.subarray(0, nl + 1).toString('latin1');
          d = d.subarray(nl + 1);
          if (/^DATA\r?\n$/i.test(line)) { mode = 'data'; head = ''; tail = Buffer.from('\r\n'); }
          line = '';
          continue;
        }
        if (head.length < 8192) head += d.subarray(0, 8192).toString('latin1');
        const joined = Buffer.concat([tail, d]);
        const at = joined.indexOf(EOD);
        if (at < 0) {
          tail = joined.subarray(Math.max(0, joined.length - 4));
          return;
        }
        const id = RECEIVED_ID.exec(head)?.[1];
        if (id) times.set(id, Date.now());
        mode = 'cmd';
        // The bytes after ".\r\n" are the next commands.
        const consumed = at + EOD.length - tail.length;
        d = d.subarray(Math.max(0, consumed));
      }
    };
    client.on('data', onData);
  });
  return { port, times, close: closer(server) };
}
