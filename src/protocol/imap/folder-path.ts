/**
 * Mailbox paths as lists of components: wire name <-> UTF-8, hierarchy
 * delimiters, and the escape for a delimiter character inside a component.
 */
import { decodeMutf7, encodeMutf7 } from './mutf7.js';

/**
 * A component that contains the target's delimiter (a folder "a/b" on a "."
 * server moving to a "/" server) would silently become two levels. We replace
 * the character with a lookalike, so users still read the name they know, and
 * the lookalike is outside ASCII, so it cannot be a delimiter itself. The mapping
 * is deterministic; it is not reversible on its own (a source that already has
 * "a∕b" next to "a/b" collides), which is why the planner's collision check runs
 * after escaping and keeps both folders apart.
 */
export const DELIMITER_LOOKALIKES: Readonly<Record<string, string>> = {
  '/': '\u2215', // ∕ DIVISION SLASH
  '.': '\u2024', // ․ ONE DOT LEADER
  '\\': '\u2216', // ∖ SET MINUS
  ':': '\u2236', // ∶ RATIO
  '|': '\u2223', // ∣ DIVIDES
};
/** For any other delimiter character. */
export const DELIMITER_FALLBACK = '_';

/** The display form separates levels with "/", so a "/" inside a component shows as its lookalike. */
export const DISPLAY_SEPARATOR = '/';

export function escapeComponent(component: string, delimiter: string | null): string {
  if (delimiter === null || delimiter === '' || !component.includes(delimiter)) return component;
  return component.split(delimiter).join(DELIMITER_LOOKALIKES[delimiter] ?? DELIMITER_FALLBACK);
}

export function displayPath(components: readonly string[]): string {
  return components.map((c) => escapeComponent(c, DISPLAY_SEPARATOR)).join(DISPLAY_SEPARATOR);
}

export interface DecodedName {
  /** UTF-8 text, NFC. */
  text: string;
  /** Set when the wire name was not valid modified UTF-7 and was taken literally. */
  invalid?: string;
}

/**
 * A wire name to text. With UTF8=ACCEPT (RFC 6855) names are UTF-8 already.
 * Otherwise they are modified UTF-7; a name that is not valid (a server that let
 * a client store raw 8-bit or a bare "&") is taken literally rather than dropped,
 * so its mail is still migrated, and the caller reports it.
 */
export function decodeWireName(wire: string, utf8: boolean): DecodedName {
  if (utf8) return { text: wire.normalize('NFC') };
  const r = decodeMutf7(wire);
  if (r.ok) return { text: r.value.normalize('NFC') };
  return { text: wire.normalize('NFC'), invalid: r.reason };
}

export function encodeWireName(text: string, utf8: boolean): string {
  return utf8 ? text : encodeMutf7(text);
}

/** Splits on the delimiter; empty components (from "a..b" or a trailing delimiter) are dropped and counted. */
export function splitPath(text: string, delimiter: string | null): { components: string[]; dropped: number } {
  const parts = delimiter === null || delimiter === '' ? [text] : text.split(delimiter);
  const components = parts.filter((p) => p !== '');
  return { components, dropped: parts.length - components.length };
}

/** "INBOX" is case-insensitive, and only as the first level (RFC 3501 5.1). */
export function isInboxName(component: string | undefined): boolean {
  // ASCII-only match: a dotless "ınbox" is not INBOX, whatever toUpperCase says.
  return component !== undefined && /^inbox$/i.test(component);
}

/** Orders strings by UTF-16 code units: locale-free, so a plan is the same on every machine. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
