/**
 * A TCP relay in front of a lab Dovecot for the migration tests: what the engine
 * sends is recorded line by line (every command, and each FETCH's sequence set),
 * and capabilities can be hidden from the client (taken out of every CAPABILITY
 * list the server sends), so a test can run the engine against "a source without
 * QRESYNC" that is otherwise the real server; or the connection that sends the Nth FETCH
 * can be cut right after it (once), as a server restart or a dropped link would.
 */
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { LAB_HOST } from '../../harness/index.js';
import { expandSet } from '../../../src/migration/imap-parse.js';

export interface ImapRelay {
  port: number;
  /** Every line a client sent (commands, in order, over all connections). */
  commands: string[];
  /** The sequence set of every FETCH / UID FETCH a client sent. */
  fetches: string[];
  /** The lines of each connection, in the order the connections came. */
  connections: string[][];
  /** Client connections still open. */
  open: () => number;
  close: () => Promise<void>;
}

/** UIDs a FETCH sequence set names (Infinity for an open range "n:*"). */
export const setSize = (set: string): number => (set.includes('*') ? Infinity : expandSet(set).length);

/** Calls `onLine` with each complete line of a stream (latin1, CRLF kept off) and returns the bytes to pass on. */
function lines(onLine: (line: string) => string): (chunk: Buffer) => Buffer {
  let pending = '';
  return (chunk) => {
    pending += chunk.toString('latin1');
    let out = '';
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const raw = pending.slice(0, nl + 1);
      const cr = raw.endsWith('\r\n') ? 2 : 1;
      out += onLine(raw.slice(0, -cr)) + raw.slice(-cr);
      pending = pending.slice(nl + 1);
    }
    return Buffer.from(out, 'latin1');
  };
}

export async function imapRelay(port: number, opts: { hideCaps?: string[]; cutAtFetch?: number } = {}): Promise<ImapRelay> {
  const commands: string[] = [];
  const fetches: string[] = [];
  const connections: string[][] = [];
  const sockets = new Set<Socket>();
  const clients = new Set<Socket>();
  const hide = (opts.hideCaps ?? []).map((c) => c.toUpperCase());
  const server: Server = createServer((client) => {
    const up = connect(port, LAB_HOST);
    sockets.add(client).add(up);
    clients.add(client);
    client.on('close', () => clients.delete(client));
    const mine: string[] = [];
    connections.push(mine);
    const fromClient = lines((l) => {
      commands.push(l);
      mine.push(l);
      const m = /^\S+ (?:UID )?FETCH (\S+)/i.exec(l);
      if (m) {
        fetches.push(m[1]!);
        // Cut once this chunk is passed on: the answers to the FETCH and to the commands in flight are lost.
        if (fetches.length === opts.cutAtFetch) setImmediate(end);
      }
      return l;
    });
    const fromServer = lines((l) => {
      if (hide.length === 0 || !/^(?:\* (?:OK \[)?|\S+ OK \[)CAPABILITY /i.test(l)) return l;
      const out: string[] = [];
      for (const w of l.split(' ')) {
        const closes = w.endsWith(']');
        if (!hide.includes((closes ? w.slice(0, -1) : w).toUpperCase())) out.push(w);
        else if (closes) out[out.length - 1] += ']';
      }
      return out.join(' ');
    });
    client.on('data', (d: Buffer) => up.write(fromClient(d)));
    up.on('data', (d: Buffer) => client.write(fromServer(d)));
    const end = () => { client.destroy(); up.destroy(); };
    for (const s of [client, up]) { s.on('error', end); s.on('close', end); }
  });
  await new Promise<void>((resolve) => server.listen(0, LAB_HOST, resolve));
  const addr = server.address();
  assert.ok(addr && typeof addr === 'object');
  return {
    port: addr.port, commands, fetches, connections, open: () => clients.size,
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}
