/**
 * Every error flatgrad throws on bad user input, at build time and at run time. `site` is the user's file:line
 * where it applies. A generated module, being self-contained, throws Errors named 'FlatgradError' (see
 * templates/prelude/flatgrad_error.ts): `instanceof FlatgradError` holds for those too, so an app catches one type.
 */
export class FlatgradError extends Error {
  constructor(message: string, readonly site?: string) {
    super(site ? `${message}\n    at ${site}` : message);
    this.name = 'FlatgradError';
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return value instanceof Error && value.name === 'FlatgradError';
  }
}
