// Shared by the tests that check errors: where an offending call is, and what it throws.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { FlatgradError } from '../src/index.ts';

/**
 * The expected line of an offending call is found by reading the test file, not the stack the library also
 * reads: the call's line ends with the comment `// @tag`, and lineOf('tag') is its 1-based number.
 * at('tag') is `test/<file>:<line>:` — the trailing colon keeps line 12 from matching 123.
 */
export function markers(testFileUrl: string): { lineOf(tag: string): number; at(tag: string): string } {
  const path = fileURLToPath(testFileUrl);
  const lines = readFileSync(path, 'utf8').split('\n');
  const lineOf = (tag: string) => {
    const hits = lines.flatMap((text, k) => (text.trimEnd().endsWith(`// @${tag}`) ? [k + 1] : []));
    if (hits.length !== 1) throw new Error(`marker '// @${tag}' appears ${hits.length} times in ${path}`);
    return hits[0]!;
  };
  return { lineOf, at: (tag) => `${relative(process.cwd(), path)}:${lineOf(tag)}:` };
}

/** The FlatgradError that f throws; fails the test if it throws nothing or something else. */
export function thrown(f: () => unknown): FlatgradError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(FlatgradError);
    return e as FlatgradError;
  }
  throw new Error('expected a FlatgradError, but nothing was thrown');
}

export async function rejected(p: () => Promise<unknown>): Promise<FlatgradError> {
  try {
    await p();
  } catch (e) {
    expect(e).toBeInstanceOf(FlatgradError);
    return e as FlatgradError;
  }
  throw new Error('expected a FlatgradError, but nothing was thrown');
}

/** Any Error f throws (the generated module throws plain Errors). */
export function thrownError(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    return e as Error;
  }
  throw new Error('expected an Error, but nothing was thrown');
}
