/**
 * A scripted IMAP server on loopback, for unit tests of the engine's own IMAP connections (a fake socket peer, not
 * the lab): it greets, cuts what the client sends into lines, and hands each line to the connection's handler, which
 * answers through `send`. With `chunk`, every answer goes out in pieces of that many bytes (literals and lines split
 * at every point).
 */
import { createServer, type Socket } from 'node:net';

export type FakeSend = (data: Buffer | string) => void;

export async function fakeImapServer(greeting: string, onConnection: (send: FakeSend, socket: Socket) => (line: string) => void,
  chunk?: number): Promise<{ port: number; close: () => void }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    const send: FakeSend = (data) => {
      const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
      if (!chunk) { s.write(buf); return; }
      for (let i = 0; i < buf.length; i += chunk) s.write(buf.subarray(i, i + chunk));
    };
    send(greeting);
    const onLine = onConnection(send, s);
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        onLine(line);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { port, close: () => { for (const s of sockets) s.destroy(); server.close(); } };
}
