/**
 * The text form of a check report: one aligned line per endpoint,
 *   ✔ legacy  imap  127.0.0.1:10143    43ms  * OK greeting, login master ok as ..., IMAP4rev1 UIDPLUS ...
 *   ✘ cloud   ldap  ldap://h:389/   10002ms  timed out after 10s waiting for the bind answer
 * Nothing in it can carry a password: targets are host:port or URLs without
 * userinfo, and summaries name users, never their secrets.
 */
import type { CheckReport, EndpointResult } from './types.js';

const GREEN = '\x1b[32m';
const RED = '\x1b[31m';
const RESET = '\x1b[0m';

export function formatCheckReport(r: CheckReport, opts: { color?: boolean } = {}): string {
  if (r.results.length === 0) return 'no endpoints configured\n';
  const cols = r.results.map((x) => [x.system, x.endpoint, x.target, `${x.latencyMs}ms`]);
  const width = [0, 1, 2, 3].map((i) => Math.max(...cols.map((c) => c[i]!.length)));
  const lines = r.results.map((x, n) => {
    const c = cols[n]!;
    const mark = x.ok ? '✔' : '✘';
    const cells = `${c[0]!.padEnd(width[0]!)}  ${c[1]!.padEnd(width[1]!)}  ${c[2]!.padEnd(width[2]!)}  ${c[3]!.padStart(width[3]!)}`;
    const text = lineText(x);
    if (!opts.color) return `${mark} ${cells}  ${text}`;
    return `${x.ok ? GREEN : RED}${mark}${RESET} ${cells}  ${x.ok ? text : `${RED}${text}${RESET}`}`;
  });
  return `${lines.join('\n')}\n`;
}

function lineText(x: EndpointResult): string {
  return x.error ? x.error.reason : x.summary;
}
