/**
 * Connection strings in messages: the password never leaves this function.
 * `postgres://mb:s3cret@db:5432/mailbridge` becomes `postgres://mb:***@db:5432/mailbridge`.
 */
const MASK = '***';
const PASSWORD_PARAMS = ['password', 'sslpassword'];

export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // libpq keyword form ("host=... password=..."): mask the value, keep the rest readable.
    return raw.replace(/(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)/gi, `$1${MASK}`);
  }
  if (url.password) url.password = MASK;
  for (const p of PASSWORD_PARAMS) if (url.searchParams.has(p)) url.searchParams.set(p, MASK);
  // URLSearchParams percent-encodes the mask; show it as written.
  return url.toString().replace(/%2A%2A%2A/g, MASK);
}

/** The secrets inside a connection string (decoded and as written), to scrub from driver messages. */
export function urlSecrets(raw: string): string[] {
  const out = new Set<string>();
  try {
    const url = new URL(raw);
    if (url.password) {
      out.add(url.password);
      out.add(safeDecode(url.password));
    }
    for (const p of PASSWORD_PARAMS) {
      const v = url.searchParams.get(p);
      if (v) out.add(v);
    }
  } catch {
    for (const m of raw.matchAll(/password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/gi)) out.add(m[1]!.replace(/^'|'$/g, ''));
  }
  return [...out].filter((s) => s.length > 0);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
