/**
 * Progress of `migrate run` on a terminal: per user and in total, messages,
 * bytes, rate and ETA, redrawn in place with plain ANSI (no dependency).
 * `applyProgress` and `renderProgress` are pure (state and clock in, lines out);
 * `TtyProgress` only moves the cursor and writes. Finished users are printed
 * once above the live block, so the scrollback keeps a line per user.
 */
import type { ProgressEvent } from './types.js';

export interface UserProgress {
  address: string;
  startedAt: number;
  messages: number;
  bytes: number;
  /** Messages the pass expects to copy, when known. */
  expected?: number;
  folder?: string;
  done?: { ok: boolean; at: number; error?: string };
}

export interface ProgressState {
  startedAt: number;
  /** Users in the run, when known up front (the total line counts them). */
  userCount?: number;
  users: Map<string, UserProgress>;
  throttles: number;
}

export function newProgress(now: number, userCount?: number): ProgressState {
  return { startedAt: now, ...(userCount !== undefined ? { userCount } : {}), users: new Map(), throttles: 0 };
}

/** A user first seen without 'user-start' (joined mid-stream) counts from the run's start. */
function userOf(s: ProgressState, address: string): UserProgress {
  let u = s.users.get(address);
  if (!u) {
    u = { address, startedAt: s.startedAt, messages: 0, bytes: 0 };
    s.users.set(address, u);
  }
  return u;
}

export function applyProgress(s: ProgressState, e: ProgressEvent, now: number): void {
  const u = userOf(s, e.address);
  switch (e.type) {
    case 'user-start': u.startedAt = now; break;
    case 'estimate': u.expected = e.messages; break;
    case 'folder': u.folder = e.folder; break;
    case 'messages': u.messages += e.messages; u.bytes += e.bytes; u.folder = e.folder; break;
    case 'throttled': s.throttles++; break;
    case 'user-end': u.done = { ok: e.ok, at: now, ...(e.report.error ? { error: e.report.error.message } : {}) }; break;
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1073741824) return `${(n / 1048576).toFixed(1)} MB`;
  return `${(n / 1073741824).toFixed(2)} GB`;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (x: number): string => String(x).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

function bar(fraction: number | undefined, width = 12): string {
  if (fraction === undefined) return `[${' '.repeat(width)}]`;
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}

/** "n/N msgs size rate/s rate ETA", shared by the user and total lines. */
function figures(messages: number, bytes: number, expected: number | undefined, seconds: number): string {
  const secs = Math.max(0.001, seconds);
  const rate = messages / secs;
  const left = expected !== undefined ? Math.max(0, expected - messages) : undefined;
  const eta = left === undefined ? '' : left === 0 ? '  ETA 0:00' : rate > 0 ? `  ETA ${formatDuration(left / rate)}` : '  ETA ?';
  const count = expected !== undefined ? `${messages}/${expected}` : String(messages);
  return `${bar(expected ? messages / expected : expected === 0 ? 1 : undefined)} ${count} msgs  ${formatBytes(bytes)}  `
    + `${rate.toFixed(rate < 10 ? 1 : 0)} msg/s  ${formatBytes(Math.round(bytes / secs))}/s${eta}`;
}

function fit(line: string, columns: number): string {
  return line.length <= columns ? line : `${line.slice(0, Math.max(0, columns - 1))}…`;
}

/** One line per running user (at most maxUsers, then "+N more"), then the total. */
export function renderProgress(s: ProgressState, now: number, columns = 100, maxUsers = 8): string[] {
  const all = [...s.users.values()];
  const running = all.filter((u) => !u.done);
  const lines: string[] = [];
  const width = Math.min(40, Math.max(0, ...running.map((u) => u.address.length)));
  for (const u of running.slice(0, maxUsers)) {
    lines.push(`${u.address.padEnd(width)}  ${figures(u.messages, u.bytes, u.expected, (now - u.startedAt) / 1000)}${u.folder ? `  ${u.folder}` : ''}`);
  }
  if (running.length > maxUsers) lines.push(`… and ${running.length - maxUsers} more user(s) running`);
  const messages = all.reduce((n, u) => n + u.messages, 0);
  const bytes = all.reduce((n, u) => n + u.bytes, 0);
  // The total ETA needs every user's expectation; users not started yet are unknown.
  const known = all.every((u) => u.expected !== undefined || u.done) && (s.userCount === undefined || all.length >= s.userCount);
  const expected = known ? all.reduce((n, u) => n + (u.done ? u.messages : u.expected ?? 0), 0) : undefined;
  const done = all.filter((u) => u.done).length;
  const failed = all.filter((u) => u.done && !u.done.ok).length;
  lines.push(`total ${done}/${s.userCount ?? all.length} users${failed ? ` (${failed} failed)` : ''}  `
    + `${figures(messages, bytes, expected, (now - s.startedAt) / 1000)}${s.throttles ? `  throttled ${s.throttles}x` : ''}`);
  return lines.map((l) => fit(l, columns));
}

/** The line a finished user leaves in the scrollback. */
export function renderFinished(u: UserProgress): string {
  const secs = ((u.done?.at ?? u.startedAt) - u.startedAt) / 1000;
  return `${u.done?.ok ? 'ok    ' : 'FAILED'} ${u.address}: ${u.messages} msgs, ${formatBytes(u.bytes)} in ${formatDuration(secs)}${u.done?.error ? ` (${u.done.error})` : ''}`;
}

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * Redraws the live block in place: cursor up over the previous block (CSI n F),
 * each line written then erased to its end (CSI K), the rest below cleared (CSI J).
 * Redraws at most every `intervalMs` unless a user finished.
 */
export class TtyProgress {
  private readonly state: ProgressState;
  private drawn = 0;
  private lastDraw = -Infinity;
  private readonly intervalMs: number;

  constructor(private readonly out: ProgressStream, private readonly now: () => number = Date.now, opts: { userCount?: number; intervalMs?: number } = {}) {
    this.state = newProgress(now(), opts.userCount);
    this.intervalMs = opts.intervalMs ?? 200;
  }

  update(e: ProgressEvent): void {
    const t = this.now();
    applyProgress(this.state, e, t);
    if (e.type === 'user-end') {
      const u = this.state.users.get(e.address);
      this.draw(t, u ? [renderFinished(u)] : []);
      return;
    }
    if (t - this.lastDraw >= this.intervalMs) this.draw(t, []);
  }

  /** Final redraw, leaving the cursor below the block. */
  finish(): void {
    this.draw(this.now(), []);
  }

  private draw(t: number, above: string[]): void {
    const columns = this.out.columns && this.out.columns > 10 ? this.out.columns : 100;
    const lines = [...above.map((l) => fit(l, columns)), ...renderProgress(this.state, t, columns)];
    const up = this.drawn > 0 ? `\x1b[${this.drawn}F` : '';
    this.out.write(`${up}${lines.map((l) => `${l}\x1b[K\n`).join('')}\x1b[J`);
    this.drawn = lines.length - above.length;
    this.lastDraw = t;
  }
}
