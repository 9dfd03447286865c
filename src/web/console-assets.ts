/**
 * The console's front end: hand-written HTML, CSS and ES modules in
 * src/web/console/, served as they are (no build step). Read once at start into
 * memory, and served only by exact name from that list, so no request path ever
 * reaches the file system.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  type: string;
  body: Buffer;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * src/web/console beside this module; when running the compiled dist/web/ (tsc
 * copies no HTML), the sources' folder two levels up.
 */
export function defaultAssetsDir(): string {
  const here = fileURLToPath(new URL('./console/', import.meta.url));
  if (existsSync(here)) return here;
  return fileURLToPath(new URL('../../src/web/console/', import.meta.url));
}

export function loadAssets(dir: string): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (!type || !/^[a-z0-9-]+\.[a-z]+$/.test(name)) continue;
    out.set(name, { type, body: readFileSync(join(dir, name)) });
  }
  return out;
}
