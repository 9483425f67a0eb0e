// Shared by the tests that check errors: where an offending call is, and what it throws.
import { readFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Garbage collections that start while `work` runs (garbage left from before is collected first), the fewest
 * over up to three runs: V8 may install optimized code (which allocates) during a run on a loaded machine, but a
 * loop that allocates collects in every run.
 */
export async function collections(work: () => void): Promise<number> {
  let fewest = Infinity;
  for (let run = 0; run < 3 && fewest > 0; run++) fewest = Math.min(fewest, await collectionsOnce(work));
  return fewest;
}

async function collectionsOnce(work: () => void): Promise<number> {
  gc();
  const seen: number[] = [];
  const observer = new PerformanceObserver((list) => seen.push(...list.getEntries().map((e) => e.startTime)));
  observer.observe({ entryTypes: ['gc'] });
  const start = performance.now();
  work();
  const end = performance.now();
  await new Promise((r) => setTimeout(r, 50));
  observer.disconnect();
  return seen.filter((t) => t >= start && t <= end).length;
}

/** f64 agrees to 1e-12 relative; f32 to 1e-5 relative (plus twice the smallest f32 subnormal, for values near 0). */
export function expectClose(dtype: 'f32' | 'f64', actual: ArrayLike<number> | number, expected: readonly number[] | number, what = ''): void {
  const a = typeof actual === 'number' ? [actual] : Array.from(actual);
  const e = typeof expected === 'number' ? [expected] : expected;
  expect(a.length, `${what}: length`).toBe(e.length);
  const rel = dtype === 'f64' ? 1e-12 : 1e-5;
  const abs = dtype === 'f64' ? 0 : 2 * 2 ** -149;
  e.forEach((ei, i) => {
    const ai = a[i]!;
    expect(Number.isFinite(ai), `${what}[${i}] = ${ai} is not finite`).toBe(true);
    expect(Math.abs(ai - ei), `${what}[${i}]: got ${ai}, expected ${ei}`).toBeLessThanOrEqual(rel * Math.abs(ei) + abs);
  });
}
