/**
 * xtext (RFC 3461 section 4), the encoding of the ENVID and ORCPT parameters,
 * and RFC 6533's utf-8-addr-xtext for non-ASCII addresses in a DSN.
 */

/** xtext: "!" to "~" except "+" and "=" as they are, every other octet of the UTF-8 form as "+XX". */
export function xtextEncode(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    out += b >= 0x21 && b <= 0x7e && b !== 0x2b && b !== 0x3d ? String.fromCharCode(b) : `+${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Decodes xtext; undefined when it is not xtext (an octet outside "!".."~", or "+" without two hex digits). */
export function xtextDecode(s: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return undefined;
    if (c !== 0x2b) {
      bytes.push(c);
      continue;
    }
    // RFC 3461 asks for upper-case hex; lower case is accepted (be liberal in what you accept).
    const hex = s.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
    bytes.push(parseInt(hex, 16));
    i += 2;
  }
  return Buffer.from(bytes).toString('utf8');
}

/** RFC 6533 section 3 utf-8-addr-xtext: octets outside QCHAR as "\x{HEX}" (code points). */
export function utf8AddrXtext(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    const qchar = cp >= 0x21 && cp <= 0x7e && cp !== 0x2b && cp !== 0x3d && cp !== 0x5c;
    out += qchar ? ch : `\\x{${cp.toString(16).toUpperCase()}}`;
  }
  return out;
}

/**
 * Parses an ORCPT value, "addr-type ; xtext" (RFC 3461 4.2). The address is
 * xtext-decoded; for the "utf-8" type (RFC 6533) the \x{HEX} escapes as well.
 */
export function parseOrcpt(value: string): { type: string; address: string } | undefined {
  const semi = value.indexOf(';');
  if (semi <= 0) return undefined;
  const type = value.slice(0, semi).trim().toLowerCase();
  if (!/^[a-z0-9][a-z0-9-]*$/.test(type)) return undefined;
  const decoded = xtextDecode(value.slice(semi + 1).trim());
  if (decoded === undefined || decoded === '') return undefined;
  const address = type === 'utf-8' ? decoded.replace(/\\x\{([0-9A-Fa-f]{1,6})\}/g, (_m, h: string) => String.fromCodePoint(parseInt(h, 16))) : decoded;
  return { type, address };
}
