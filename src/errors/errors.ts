import { nearest_key, option_problem } from '../../templates/prelude/check_options.ts';

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

/** ` — did you mean 'x'?` for the known name a few edits from `name`, as an unknown option is told; else ''. */
export function didYouMean(name: string, known: readonly string[]): string {
  const near = nearest_key(name, known);
  return near === undefined ? '' : ` — did you mean '${near}'?`;
}

/** Refuses an options object with a key that `known` lacks, naming the key, the nearest known one and the user's line. */
export function checkOptions(options: unknown, known: readonly string[], where: string, site?: string | { toString(): string }): void {
  const problem = option_problem(options, known, where);
  if (problem !== undefined) throw new FlatgradError(problem, site);
}

/**
 * Every key of T, listed for checkOptions: `optionKeys<CompileOptions>()('loss', …)` does not type-check while a
 * key of T is missing, so an option added to the type is never refused as unknown.
 */
export const optionKeys = <T>() =>
  <const K extends readonly (keyof T & string)[]>(...keys: K & Complete<T, K>): readonly string[] => keys;

/** `unknown` when K lists every key of T, else a type no list matches, naming the keys it lacks. */
type Complete<T, K extends readonly string[]> = [Exclude<keyof T & string, K[number]>] extends [never] ? unknown : { missing: Exclude<keyof T & string, K[number]> };
