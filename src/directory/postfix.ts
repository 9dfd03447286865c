/**
 * `directory export postfix DIR`: maps for sites that keep Postfix at the edge.
 * - transport: every address (primary and alias) -> the home system's
 *   next hop, `smtp:[host]:port` or `lmtp:[host]:port` (transport(5), lmtp(8)).
 * - relay_recipients: every address -> OK (relay_recipient_maps).
 * - virtual: every alias -> its primary address (virtual(5)).
 * Files are written whole and renamed into place; `postmap hash:FILE` runs on
 * each when postmap is installed, so Postfix never reads a half-written map.
 */
import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MbError, describeError } from '../core/index.js';
import type { SystemConfig } from '../config/index.js';
import type { Store } from '../store/index.js';
import { DirectoryErrors } from './errors.js';

const run = promisify(execFile);
const POSTMAP_CANDIDATES = ['/usr/sbin/postmap', '/usr/local/sbin/postmap'];

export interface PostfixExportResult {
  dir: string;
  files: string[];
  entries: { transport: number; relayRecipients: number; virtual: number };
  postmap: string | null;
  /** Users whose home system has no smtp endpoint: left out of transport. */
  noTransport: string[];
}

function nextHop(s: SystemConfig | undefined): string | null {
  if (!s?.smtp) return null;
  // Brackets: no MX lookup (transport(5)); an IPv6 literal goes inside them as it is.
  return `${s.smtp.protocol}:[${s.smtp.host}]:${s.smtp.port}`;
}

/** Postfix map keys cannot hold whitespace; such addresses cannot be routed by a map anyway. */
const usable = (a: string) => !/[\s#]/.test(a);

async function exists(p: string): Promise<boolean> {
  try { await access(p); return true; } catch { return false; }
}

export async function findPostmap(): Promise<string | null> {
  for (const p of POSTMAP_CANDIDATES) if (await exists(p)) return p;
  return null;
}

export async function exportPostfix(
  store: Store, systems: Readonly<Record<string, SystemConfig>>, dir: string, opts: { postmap?: string | null } = {},
): Promise<PostfixExportResult> {
  const transport: string[] = [];
  const relay: string[] = [];
  const virtual: string[] = [];
  const noTransport: string[] = [];
  const rows = await store.db.selectFrom('users').select(['address', 'aliases', 'home_system']).orderBy('address').execute();
  for (const r of rows) {
    const aliases = (JSON.parse(r.aliases) as string[]).filter(usable).sort();
    if (!usable(r.address)) continue;
    const hop = nextHop(systems[r.home_system]);
    if (!hop) noTransport.push(r.address);
    for (const a of [r.address, ...aliases]) {
      relay.push(`${a} OK`);
      if (hop) transport.push(`${a} ${hop}`);
    }
    for (const a of aliases) virtual.push(`${a} ${r.address}`);
  }
  const files = { transport, relay_recipients: relay, virtual };
  const postmap = opts.postmap === undefined ? await findPostmap() : opts.postmap;
  const written: string[] = [];
  let scratch: string | undefined;
  try {
    await mkdir(dir, { recursive: true });
    // postmap reads main.cf first; on a host where mailbridge runs without a local
    // Postfix configuration, an empty one (all defaults) in a scratch dir does.
    const confArgs: string[] = [];
    if (postmap && !(await exists('/etc/postfix/main.cf'))) {
      scratch = await mkdtemp(join(tmpdir(), 'mb-postmap-'));
      await writeFile(join(scratch, 'main.cf'), '');
      confArgs.push('-c', scratch);
    }
    for (const [name, lines] of Object.entries(files)) {
      const file = join(dir, name);
      const header = `# written by mailbridge directory export postfix; do not edit\n`;
      await writeFile(`${file}.tmp`, header + lines.sort().map((l) => `${l}\n`).join(''));
      await rename(`${file}.tmp`, file);
      if (postmap) await run(postmap, [...confArgs, `hash:${file}`]);
      written.push(file);
    }
  } catch (err) {
    throw new MbError(DirectoryErrors.DIRECTORY_EXPORT_FAILED, `writing Postfix maps in ${dir} failed: ${describeError(err)}`, { cause: err, details: { dir } });
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
  return {
    dir, files: written, postmap,
    entries: { transport: transport.length, relayRecipients: relay.length, virtual: virtual.length }, noTransport,
  };
}
