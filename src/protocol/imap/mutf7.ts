/**
 * Modified UTF-7 for IMAP mailbox names (RFC 3501 section 5.1.3).
 *
 * - Printable US-ASCII (0x20-0x7e) represents itself, except "&", written "&-".
 * - Everything else is UTF-16BE in modified BASE64 ("," instead of "/", no "="
 *   padding) between "&" and "-"; a run of such characters is one sequence.
 *
 * Decoding is strict, because a name that does not round-trip is a name we would
 * create twice on the target: it rejects characters outside 0x20-0x7e, an
 * unterminated shift, bytes outside the BASE64 alphabet, a BASE64 length that does
 * not end on a UTF-16 unit, non-zero pad bits, a printable ASCII character or NUL
 * inside a shift (non-minimal; Dovecot rejects NUL too), unpaired surrogates and
 * two adjacent shift sequences ("&AOQ-&AOQ-", which the encoder never produces and
 * Dovecot's imap-utf7.c also rejects). Failures are values, never throws.
 */

export type Mutf7Result = { ok: true; value: string } | { ok: false; reason: string };

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';
const DECODE: ReadonlyMap<string, number> = new Map([...ALPHABET].map((c, i) => [c, i]));

function isDirect(code: number): boolean {
  return code >= 0x20 && code <= 0x7e;
}

function base64Units(units: number[]): string {
  let out = '';
  let bits = 0;
  let acc = 0;
  for (const u of units) {
    acc = (acc << 16) | u;
    bits += 16;
    while (bits >= 6) {
      bits -= 6;
      out += ALPHABET[(acc >> bits) & 0x3f];
    }
    acc &= (1 << bits) - 1;
  }
  // Left-over bits are padded with zeros to a whole BASE64 character (RFC 2152).
  if (bits > 0) out += ALPHABET[(acc << (6 - bits)) & 0x3f];
  return out;
}

/**
 * Encodes a (UTF-16) string as modified UTF-7. Lone surrogates, which no mailbox
 * name can carry, are replaced by U+FFFD first (what TextEncoder does too), so
 * `decodeMutf7(encodeMutf7(s))` gives back `s` for every well-formed string.
 */
export function encodeMutf7(name: string): string {
  let out = '';
  let pending: number[] = [];
  const flush = (): void => {
    if (pending.length > 0) out += `&${base64Units(pending)}-`;
    pending = [];
  };
  for (const ch of name) {
    const code = ch.codePointAt(0)!;
    if (isDirect(code)) {
      flush();
      out += ch === '&' ? '&-' : ch;
      continue;
    }
    const cp = code >= 0xd800 && code <= 0xdfff ? 0xfffd : code;
    if (cp > 0xffff) {
      const v = cp - 0x10000;
      pending.push(0xd800 | (v >> 10), 0xdc00 | (v & 0x3ff));
    } else {
      pending.push(cp);
    }
  }
  flush();
  return out;
}

/** Decodes the BASE64 body of one shift sequence into UTF-16 code units. */
function decodeShift(body: string): { ok: true; units: number[] } | { ok: false; reason: string } {
  for (const c of body) {
    if (!DECODE.has(c)) return { ok: false, reason: `"&${body}-": "${c}" is not a modified base64 character` };
  }
  // 16-bit units need 3, 6 or 8 characters per 1, 2 or 3 units; any other length
  // leaves a whole character of padding or a truncated unit.
  const rest = body.length % 8;
  if (rest !== 0 && rest !== 3 && rest !== 6) {
    return { ok: false, reason: `"&${body}-": base64 length ${body.length} does not end on a UTF-16 character` };
  }
  const units: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const c of body) {
    acc = (acc << 6) | DECODE.get(c)!;
    bits += 6;
    if (bits >= 16) {
      bits -= 16;
      units.push((acc >> bits) & 0xffff);
      acc &= (1 << bits) - 1;
    }
  }
  if (acc !== 0) return { ok: false, reason: `"&${body}-": non-zero padding bits (not the canonical encoding)` };
  return { ok: true, units };
}

/** Turns the UTF-16 units of one shift sequence into text, rejecting what must not be there. */
function unitsToText(units: number[], seq: string): Mutf7Result {
  let text = '';
  for (let i = 0; i < units.length; i++) {
    const u = units[i]!;
    if (u === 0) return { ok: false, reason: `"${seq}" encodes NUL` };
    if (isDirect(u)) {
      return { ok: false, reason: `"${seq}" encodes printable ASCII "${String.fromCharCode(u)}", which must represent itself` };
    }
    if (u >= 0xdc00 && u <= 0xdfff) return { ok: false, reason: `"${seq}" has an unpaired low surrogate` };
    if (u >= 0xd800 && u <= 0xdbff) {
      const low = units[i + 1];
      if (low === undefined || low < 0xdc00 || low > 0xdfff) {
        return { ok: false, reason: `"${seq}" has an unpaired high surrogate` };
      }
      text += String.fromCharCode(u, low);
      i++;
      continue;
    }
    text += String.fromCharCode(u);
  }
  return { ok: true, value: text };
}

/** Decodes a modified UTF-7 mailbox name; `{ ok: false, reason }` when it is not exactly valid. */
export function decodeMutf7(wire: string): Mutf7Result {
  let out = '';
  let i = 0;
  let lastShiftEnd = -1;
  while (i < wire.length) {
    const code = wire.charCodeAt(i);
    if (!isDirect(code)) {
      return { ok: false, reason: `character U+${code.toString(16).padStart(4, '0').toUpperCase()} at ${i} is outside printable ASCII` };
    }
    if (wire[i] !== '&') {
      out += wire[i];
      i++;
      continue;
    }
    const end = wire.indexOf('-', i + 1);
    if (end < 0) return { ok: false, reason: `unterminated "&" shift at ${i}` };
    if (end === i + 1) {
      out += '&';
      i = end + 1;
      continue;
    }
    if (lastShiftEnd === i) return { ok: false, reason: `adjacent shift sequences at ${i} (must be one sequence)` };
    const seq = wire.slice(i, end + 1);
    const units = decodeShift(wire.slice(i + 1, end));
    if (!units.ok) return units;
    const text = unitsToText(units.units, seq);
    if (!text.ok) return text;
    out += text.value;
    i = end + 1;
    lastShiftEnd = i;
  }
  return { ok: true, value: out };
}

/** True when `wire` is exactly valid modified UTF-7. */
export function isValidMutf7(wire: string): boolean {
  return decodeMutf7(wire).ok;
}
