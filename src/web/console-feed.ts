/**
 * Live updates for the console (server-sent events, GET /api/events). One
 * ticker for all open streams: every `intervalMs` it recomputes the overview
 * once and sends it to every stream (it carries its own time, so it doubles as
 * the keep-alive, and a page can tell a stalled feed from a quiet one). Reading the store
 * rather than listening to this process's scheduler means a result recorded by
 * any node (several nodes share one store) reaches every console.
 */
import type { ServerResponse } from 'node:http';

export interface FeedClient {
  res: ServerResponse;
  /** False once the client's session has ended: the stream is closed. */
  alive: () => boolean;
}

export interface FeedOptions {
  intervalMs: number;
  maxClients?: number;
  snapshot: () => Promise<unknown>;
  onError: (err: unknown) => void;
}

export class OverviewFeed {
  private readonly clients = new Set<FeedClient>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;

  constructor(private readonly opts: FeedOptions) {}

  get size(): number {
    return this.clients.size;
  }

  /** False when the feed is full (the caller answers 503). */
  add(c: FeedClient): boolean {
    if (this.clients.size >= (this.opts.maxClients ?? 100)) return false;
    this.clients.add(c);
    c.res.on('close', () => this.remove(c));
    this.timer ??= setInterval(() => void this.tick(), this.opts.intervalMs);
    void this.sendTo([c]);
    return true;
  }

  /** Ends every stream (server shutdown: an open stream would hold close() up). */
  closeAll(): void {
    for (const c of this.clients) c.res.end();
    this.clients.clear();
    this.stop();
  }

  private remove(c: FeedClient): void {
    this.clients.delete(c);
    if (this.clients.size === 0) this.stop();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      for (const c of this.clients) {
        if (c.alive()) continue;
        c.res.write('event: logout\ndata: {}\n\n');
        c.res.end();
        this.remove(c);
      }
      await this.sendTo([...this.clients]);
    } finally {
      this.ticking = false;
    }
  }

  private async sendTo(clients: FeedClient[]): Promise<void> {
    if (clients.length === 0) return;
    let data: string;
    try {
      data = JSON.stringify(await this.opts.snapshot());
    } catch (err) {
      this.opts.onError(err);
      return;
    }
    for (const c of clients) {
      if (c.res.writableEnded) continue;
      c.res.write(`event: overview\ndata: ${data}\n\n`);
    }
  }
}
