/**
 * A secret from the configuration (a password, a token). It is redacted at the
 * source: printing, JSON-serializing, logging or inspecting it shows only
 * "[redacted]"; code that really needs the value calls reveal().
 */
const REDACTED = '[redacted]';
const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

export type SecretSource = 'literal' | 'env' | 'file';

export class Secret {
  readonly #value: string;
  readonly source: SecretSource;
  /** Where it came from, safe to show: "literal", "env:NAME", "file:/path". */
  readonly origin: string;

  constructor(value: string, source: SecretSource = 'literal', origin: string = source) {
    this.#value = value;
    this.source = source;
    this.origin = origin;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspectSymbol](): string {
    return REDACTED;
  }
}

export const REDACTED_TEXT = REDACTED;
