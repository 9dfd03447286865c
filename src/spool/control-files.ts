/**
 * Control requests from `mailbridge queue` to a running gateway: one JSON file
 * each in control/, written under a dot name and renamed, so the gateway never
 * reads half a request; taken oldest first and unlinked.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Orders the control requests one process writes within the same millisecond. */
let controlSeq = 0;

export async function writeControl(dir: string, now: () => number, request: object): Promise<void> {
  await mkdir(dir, { recursive: true });
  // Sorted by name when taken: time, then this process's sequence, so two requests
  // written in one millisecond (hold, then release) are applied in the order given.
  const seq = String(controlSeq++).padStart(10, '0');
  const name = `${String(now()).padStart(15, '0')}-${seq}-${randomBytes(4).toString('hex')}.json`;
  await writeFile(join(dir, `.${name}`), JSON.stringify(request));
  await rename(join(dir, `.${name}`), join(dir, name));
}

/** Reads and removes the pending control requests, oldest first. */
export async function takeControl(dir: string): Promise<unknown[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
  } catch {
    return [];
  }
  const out: unknown[] = [];
  for (const n of names) {
    const p = join(dir, n);
    try {
      out.push(JSON.parse(await readFile(p, 'utf8')));
    } catch {
      // a request that is not JSON is dropped
    }
    await unlink(p).catch(() => undefined);
  }
  return out;
}
