/**
 * Every error flatgrad throws on bad user input, at build time and at run time. `site` is the user's file:line
 * where it applies. A generated module, being self-contained, throws Errors named 'FlatgradError' (see
 * templates/prelude/flatgrad_error.ts): `instanceof FlatgradError` holds for those too, so an app catches one type.
 */
export class FlatgradError extends Error {
  readonly site?: string;

  constructor(message: string, site?: string | { toString(): string }) {
    const at = site === undefined ? undefined : String(site);
    super(at ? `${message}\n    at ${at}` : message);
    this.site = at;
    this.name = 'FlatgradError';
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return value instanceof Error && value.name === 'FlatgradError';
  }
}

/** Names as an error message lists them: 'a', 'b' ('none' for no names). */
export const quotedList = (names: readonly string[]): string => (names.length ? names.map((n) => `'${n}'`).join(', ') : 'none');
