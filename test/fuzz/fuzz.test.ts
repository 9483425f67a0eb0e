// Differential fuzzing, fixed seed: random graphs (test/fuzz/graphs.ts) compiled in every variant
// (test/fuzz/variants.ts) must give the reference interpreter's loss, outputs and gradients within 1e-9 — NaN,
// ±Infinity and the sign of zeros exactly, in the quarter of the cases that feed special values.
// On a failure fast-check shrinks the graph and prints it as the TypeScript that builds it, with its recipe
// (buildCase(recipe) rebuilds it). `npm run fuzz` runs the same property many more times.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allOps, emit } from '../../src/index.ts';
import { buildCase, OPS, recipeFromSeed, type Case } from './graphs.ts';
import { largeProperty, property } from './variants.ts';

const SEED = 20261126;
const RUNS = 150;

describe('differential fuzzing against the reference interpreter', () => {
  it(`${RUNS} random graphs compile to the reference's values in every variant (seed ${SEED})`, async () => {
    const applied = new Set<string>();
    const nodeOps = new Set<string>();
    let specials = 0;
    const seen = (c: Case) => {
      for (const op of c.ops) applied.add(op);
      for (const n of c.graph.nodes) nodeOps.add(n.op);
      if (c.specials.length) specials++;
    };
    await fc.assert(property(seen), { seed: SEED, numRuns: RUNS, includeErrorInReport: true });
    // The run covers the generator's whole op list, and every op of the registry appears in some graph:
    // a new op fails here until test/fuzz/graphs.ts generates it.
    expect(OPS.filter((op) => !applied.has(op))).toEqual([]);
    expect(allOps().map((o) => o.name).filter((op) => !nodeOps.has(op))).toEqual([]);
    // About one case in four feeds special values (NaN, ±Infinity, ±0, huge, tiny), and every variant must agree on them.
    expect(specials).toBeGreaterThan(RUNS / 8);
  }, 120_000);

  it('30 random graphs of 1,024 floats and more: f32 with the Wasm kernels equals the TypeScript loops, and on 2 threads equals 1 bit for bit', async () => {
    // the Wasm calls each case's generated code makes, by what the fused loop computes
    const calls = { gemm: 0, loop: 0, exp: 0, threaded: 0 };
    let checked = 0;
    const seen = (c: Case, skipped: boolean) => {
      if (skipped) return;
      checked++;
      const source = emit(c.graph, { loss: c.loss, wrt: c.wrt, outputs: c.outputs, dims: c.dims });
      const lines = source.slice(source.indexOf('function forward_pass(')).split('\n');
      calls.gemm += lines.filter((l) => /^\s*gemm_\w+\(/.test(l)).length;
      const loops = lines.filter((l) => /^\s*loop_\w+\(.*\); \/\//.test(l));
      calls.loop += loops.length;
      calls.exp += loops.filter((l) => /Math\.exp|sigmoid\(/.test(l)).length;
      if (/threaded_(gemm|loop)\(pool/.test(emit(c.graph, { loss: c.loss, wrt: c.wrt, outputs: c.outputs, dims: c.dims, threads: 2, wasm: 'all' }))) calls.threaded++;
    };
    await fc.assert(largeProperty(seen), { seed: SEED, numRuns: 30, includeErrorInReport: true });
    expect(checked).toBeGreaterThan(15);
    expect(calls.gemm).toBeGreaterThan(0);
    expect(calls.loop).toBeGreaterThan(20);
    expect(calls.exp).toBeGreaterThan(0);
    expect(calls.threaded).toBeGreaterThan(0); // some cases split a matmul or a loop across the 2 threads
  }, 120_000);

  it('a case is reproducible from its recipe, and from a seed alone', () => {
    const a = buildCase(recipeFromSeed(7));
    const b = buildCase(JSON.parse(JSON.stringify(a.recipe)));
    expect(b.code).toBe(a.code);
    expect(b.feeds).toEqual(a.feeds);
    expect(b.params).toEqual(a.params);
    expect(buildCase(7).code).toBe(a.code);
    expect(String(a.recipe)).toContain(a.code);
  });
});
