// Differential fuzzing, fixed seed: random graphs (test/fuzz/graphs.ts) compiled in every variant
// (test/fuzz/variants.ts) must give the reference interpreter's loss, outputs and gradients within 1e-9.
// On a failure fast-check shrinks the graph and prints it as the TypeScript that builds it, with its recipe
// (buildCase(recipe) rebuilds it). `npm run fuzz` runs the same property many more times.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allOps } from '../src/index.ts';
import { buildCase, OPS, recipeFromSeed, type Case } from './fuzz/graphs.ts';
import { property } from './fuzz/variants.ts';

const SEED = 20261126;
const RUNS = 150;

describe('differential fuzzing against the reference interpreter', () => {
  it(`${RUNS} random graphs compile to the reference's values in every variant (seed ${SEED})`, async () => {
    const applied = new Set<string>();
    const nodeOps = new Set<string>();
    const seen = (c: Case) => {
      for (const op of c.ops) applied.add(op);
      for (const n of c.graph.nodes) nodeOps.add(n.op);
    };
    await fc.assert(property(seen), { seed: SEED, numRuns: RUNS, includeErrorInReport: true });
    // The run covers the generator's whole op list, and every op of the registry appears in some graph:
    // a new op fails here until test/fuzz/graphs.ts generates it.
    expect(OPS.filter((op) => !applied.has(op))).toEqual([]);
    expect(allOps().map((o) => o.name).filter((op) => !nodeOps.has(op))).toEqual([]);
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
