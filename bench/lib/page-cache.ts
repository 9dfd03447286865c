/**
 * The source mailboxes' files brought into the page cache right before each timed run, and how much of them was
 * still there (measured with util-linux fincore).
 *
 * Why: this machine's kernel runs a DAMON scheme (/sys/kernel/mm/damon/admin/kdamonds/0: action pageout, unmapped
 * file pages not accessed for 12 aggregation intervals of 5 s) that drops page cache unused for about a minute.
 * The bench reads the corpus back once after loading it, but --settle can wait minutes before a round: the first
 * tool of the round then read its source from the disk (perf: the source imap processes submitting block I/O from
 * posix_fadvise(WILLNEED), bench/RESULTS.md session 8) and the second found it cached. Reading the files before
 * every run gives both tools the same warm source, as the bench has always meant to.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

function filesUnder(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) filesUnder(p, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Bytes of `files` resident in the page cache, and their size (fincore, in slices so the command line stays short). */
function resident(files: readonly string[]): { cached: number; size: number } {
  let cached = 0;
  let size = 0;
  for (let i = 0; i < files.length; i += 500) {
    const out = execFileSync('fincore', ['--bytes', '--noheadings', '--raw', '--output', 'RES,SIZE', ...files.slice(i, i + 500)], { encoding: 'utf8' });
    for (const line of out.split('\n')) {
      const [res, sz] = line.trim().split(/\s+/).map(Number);
      if (Number.isFinite(res) && Number.isFinite(sz)) {
        cached += res!;
        size += sz!;
      }
    }
  }
  return { cached, size };
}

/** Reads every file under `dirs` (mail files and Dovecot's index files); answers what was cached before, and the time the reads took. */
export function warmFiles(dirs: readonly string[]): { files: number; size: number; cachedBefore: number; seconds: number } {
  const files = dirs.flatMap((d) => filesUnder(d));
  const before = resident(files);
  const t0 = performance.now();
  for (const f of files) readFileSync(f);
  return { files: files.length, size: before.size, cachedBefore: before.cached, seconds: (performance.now() - t0) / 1000 };
}
