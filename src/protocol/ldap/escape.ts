/**
 * LDAP string escaping, so no value from a CSV, a web form or another directory
 * can change the meaning of a filter or a DN (LDAP injection).
 */

/**
 * RFC 4515 section 3: in an assertion value, `*` `(` `)` `\` and NUL must be
 * written as `\2a` `\28` `\29` `\5c` `\00`. UTF-8 passes through unchanged.
 */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\u0000]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Builds `(attr=value)` with the value escaped; attr must be a plain descriptor. */
export function eqFilter(attr: string, value: string): string {
  if (!/^[A-Za-z][A-Za-z0-9-]*(;[A-Za-z0-9-]+)*$|^\d+(\.\d+)+$/.test(attr)) throw new RangeError(`not an LDAP attribute description: ${attr}`);
  return `(${attr}=${escapeFilterValue(value)})`;
}

/**
 * RFC 4514 section 2.4: in an RDN value escape `"` `+` `,` `;` `<` `>` `\`,
 * a leading space or `#`, a trailing space, and NUL (as `\00`).
 */
export function escapeDnValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\u0000') out += '\\00';
    else if ('"+,;<>\\'.includes(c)) out += `\\${c}`;
    else if (i === 0 && (c === ' ' || c === '#')) out += `\\${c}`;
    else if (i === value.length - 1 && c === ' ') out += '\\ ';
    else out += c;
  }
  return out;
}

export interface Rdn { attr: string; value: string }

/**
 * Parses a DN string into RDNs (RFC 4514 section 3), undoing escapes (`\,` and
 * `\2c` alike). Multi-valued RDNs (`a=1+b=2`) come back as one entry per value
 * with `multi: true` on all but the first. Returns null for malformed input.
 */
export function parseDn(dn: string): (Rdn & { multi?: boolean })[] | null {
  const out: (Rdn & { multi?: boolean })[] = [];
  let i = 0;
  let multi = false;
  if (dn.trim() === '') return [];
  while (i < dn.length) {
    const eq = dn.indexOf('=', i);
    if (eq < 0) return null;
    const attr = dn.slice(i, eq).trim();
    if (!/^[A-Za-z][A-Za-z0-9-]*$|^\d+(\.\d+)+$/.test(attr)) return null;
    i = eq + 1;
    const bytes: number[] = [];
    let end = i;
    for (; end < dn.length; end++) {
      const c = dn[end]!;
      if (c === ',' || c === '+') break;
      if (c === '\\') {
        const hex = /^[0-9a-fA-F]{2}/.exec(dn.slice(end + 1, end + 3));
        if (hex) { bytes.push(parseInt(hex[0], 16)); end += 2; continue; }
        const next = dn[end + 1];
        if (next === undefined) return null;
        bytes.push(...Buffer.from(next, 'utf8'));
        end += 1;
        continue;
      }
      bytes.push(...Buffer.from(c, 'utf8'));
    }
    out.push({ attr, value: Buffer.from(bytes).toString('utf8'), ...(multi ? { multi: true } : {}) });
    multi = dn[end] === '+';
    i = end + 1;
    if (end >= dn.length) break;
  }
  return out;
}

/** Normalizes a DN for comparison: attribute names lower-cased, values re-escaped. */
export function normalizeDn(dn: string): string | null {
  const rdns = parseDn(dn);
  if (!rdns) return null;
  return rdns.map((r, k) => `${k > 0 ? (r.multi ? '+' : ',') : ''}${r.attr.toLowerCase()}=${escapeDnValue(r.value).toLowerCase()}`).join('');
}
