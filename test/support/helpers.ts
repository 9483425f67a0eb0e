// Shared by the tests that check errors: where an offending call is, and what it throws.
import { ts } from 'ts-morph';
import { readFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { FlatgradError } from '../../src/index.ts';

/**
 * The expected line of an offending call is found by reading the test file, not the stack the library also
 * reads: the call's line ends with the comment `// @tag`, and lineOf('tag') is its 1-based number.
 * at('tag') is `test/<folder>/<file>:<line>:` — the trailing colon keeps line 12 from matching 123.
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
  return thrownOf(f, FlatgradError);
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
  return thrownOf(f, Error);
}

function thrownOf<E extends Error>(f: () => unknown, kind: new (...args: never[]) => E): E {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(kind);
    return e as E;
  }
  throw new Error(`expected ${kind.name === 'Error' ? 'an Error' : `a ${kind.name}`}, but nothing was thrown`);
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (options?: { type: 'major' | 'minor' }) => void;

/** Heap bytes a loop may gain without allocating per iteration: V8 installing optimized code grows the heap a little. */
export const HEAP_SLACK = 64 * 1024;

/**
 * What `work` allocates: the garbage collections that start while it runs and how far the heap grew (garbage left
 * from before is collected first). The best of up to three runs: V8 may install optimized code during a run on a
 * loaded machine, but a loop that allocates does so in every run.
 */
export async function allocation(work: () => void): Promise<{ collections: number; bytes: number }> {
  let best = { collections: Infinity, bytes: Infinity };
  for (let run = 0; run < 3 && (best.collections > 0 || best.bytes >= HEAP_SLACK); run++) {
    const r = await allocationOnce(work);
    if (r.collections < best.collections || (r.collections === best.collections && r.bytes < best.bytes)) best = r;
  }
  return best;
}

/** Fails unless `work` starts no garbage collection and leaves the heap at most HEAP_SLACK bigger. */
export async function expectFlatHeap(work: () => void): Promise<void> {
  const { collections, bytes } = await allocation(work);
  expect(collections).toBe(0);
  expect(bytes).toBeLessThan(HEAP_SLACK);
}

async function allocationOnce(work: () => void): Promise<{ collections: number; bytes: number }> {
  // Only the young generation: a full collection would also drop the maps and code V8 optimized the loop with.
  gc({ type: 'minor' });
  const seen: number[] = [];
  const observer = new PerformanceObserver((list) => seen.push(...list.getEntries().map((e) => e.startTime)));
  observer.observe({ entryTypes: ['gc'] });
  const before = process.memoryUsage().heapUsed;
  const start = performance.now();
  work();
  const end = performance.now();
  const bytes = process.memoryUsage().heapUsed - before;
  await new Promise((r) => setTimeout(r, 50));
  observer.disconnect();
  return { collections: seen.filter((t) => t >= start && t <= end).length, bytes };
}

/**
 * f64 agrees to 1e-12 relative; f32 to 1e-5 relative, plus f32's smallest normal for values near 0 (by default a
 * subnormal f32 result is stored as ±0: docs/subnormals.md).
 */
export function expectClose(dtype: 'f32' | 'f64', actual: ArrayLike<number> | number, expected: readonly number[] | number, what = ''): void {
  const a = typeof actual === 'number' ? [actual] : Array.from(actual);
  const e = typeof expected === 'number' ? [expected] : expected;
  expect(a.length, `${what}: length`).toBe(e.length);
  const rel = dtype === 'f64' ? 1e-12 : 1e-5;
  const abs = dtype === 'f64' ? 0 : 2 ** -126;
  e.forEach((ei, i) => {
    const ai = a[i]!;
    expect(Number.isFinite(ai), `${what}[${i}] = ${ai} is not finite`).toBe(true);
    expect(Math.abs(ai - ei), `${what}[${i}]: got ${ai}, expected ${ei}`).toBeLessThanOrEqual(rel * Math.abs(ei) + abs);
  });
}

/** @tsconfig/strictest 2.0, and `tsc --init`'s checks. */
export const STRICTEST = {
  strict: true,
  allowUnusedLabels: false,
  allowUnreachableCode: false,
  exactOptionalPropertyTypes: true,
  noFallthroughCasesInSwitch: true,
  noImplicitOverride: true,
  noImplicitReturns: true,
  noPropertyAccessFromIndexSignature: true,
  noUncheckedIndexedAccess: true,
  noUnusedLocals: true,
  noUnusedParameters: true,
  isolatedModules: true,
  verbatimModuleSyntax: true,
  noUncheckedSideEffectImports: true,
  moduleDetection: ts.ModuleDetectionKind.Force,
} as const;
