// The front end works whichever of its modules is imported first. Vitest gives each test file its own modules,
// and this file imports flatgrad's one at a time, in its tests' order: the registry alone, then the graph alone.
import { describe, expect, it } from 'vitest';

describe('imported alone', () => {
  it('the op registry, with no op imported, says so rather than that the op is unknown', async () => {
    const { allComposites, allOps, getOp } = await import('../../src/ops/registry.ts');
    const none = "unknown op 'add': no ops are registered; import 'flatgrad' (src/index.ts) or src/ops/index.ts, which registers them";
    expect(() => getOp('add')).toThrow(none);
    expect(() => allOps()).toThrow(/^no ops are registered; import 'flatgrad'/);
    expect(() => allComposites()).toThrow(/^no ops are registered; import 'flatgrad'/);
  });

  it('src/graph/graph.ts builds with every op: importing it registers them', async () => {
    const { graph } = await import('../../src/graph/graph.ts');
    const g = graph();
    const x = g.input('x', [2, 3]);
    const w = g.param('w', [3, 4]);
    expect(x.add(1).op).toBe('add');
    expect(x.mul(x).sum().op).toBe('sum');
    expect(x.matmul(w).relu().op).toBe('relu');
    expect(x.softmax(1).shape).toEqual([2, 3]);
    const { allOps, getOp } = await import('../../src/ops/registry.ts');
    expect(allOps().map((o) => o.name)).toEqual(expect.arrayContaining(['add', 'matmul', 'sum', 'reshape', 'where']));
    expect(() => getOp('ad')).toThrow("unknown op 'ad' — did you mean 'add'?");
    expect(() => g.apply('matmull', [x, w])).toThrow(/^unknown op 'matmull' — did you mean 'matmul'\?\n {4}at test\/front\/import_order\.test\.ts:\d+:\d+$/);
    expect(() => g.apply('nope', [x])).toThrow(/^unknown op 'nope'\n/);
  });
});
