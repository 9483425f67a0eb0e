// Each pass, before and after, on the bound graph (copies of the user's nodes; the user's graph never changes).
import { describe, expect, it } from 'vitest';
import { compile, grad, graph, interpret, type Tensor } from '../../src/index.ts';
import { boundGraph, type PNode, type BoundGraph } from '../../src/passes/bound-graph.ts';
import { foldConstants } from '../../src/passes/fold.ts';
import { simplify } from '../../src/passes/simplify.ts';
import { eliminateCommonSubexpressions } from '../../src/passes/cse.ts';
import { deadCode } from '../../src/passes/bound-graph.ts';
import { foldTransposes } from '../../src/passes/layout.ts';

const bound = (outputs: Record<string, Tensor>, dims = {}) => boundGraph(Object.values(outputs)[0]!.graph.nodes, { grads: new Map(), outputs: new Map(Object.entries(outputs)) }, dims);
/** The ops of what each output computes, innermost first: a readable "after". */
const ops = (p: BoundGraph) => p.nodes.filter((n) => n.op !== 'input' && n.op !== 'param').map((n) => (n.op === 'const' ? `const ${n.attrs.value}` : n.op));
const out = (p: BoundGraph, k = 'y') => p.outputs.get(k)!;

describe('constant folding', () => {
  it('folds an elementwise op on constants into one constant', () => {
    const g = graph();
    const x = g.input('x', [3]);
    const y = x.mul(g.constant(2).add(3).exp());
    const before = bound({ y });
    expect(ops(before)).toEqual(['const 2', 'const 3', 'add', 'exp', 'mul']);
    const after = foldConstants(before);
    expect(ops(after)).toEqual(['const 148.4131591025766', 'mul']);
  });
  it('leaves anything that reads a value alone', () => {
    const g = graph();
    const x = g.input('x', []);
    expect(ops(foldConstants(bound({ y: x.add(1).mul(2) })))).toEqual(['const 1', 'add', 'const 2', 'mul']);
  });
});

describe('algebraic simplification', () => {
  it('x + (−0), x − 0, x · 1, x / 1, −(−x), x^1 and identities become x', () => {
    const g = graph();
    const x = g.input('x', [2]);
    const y = x.add(-0).sub(0).mul(1).div(1).neg().neg().pow(1);
    const after = simplify(bound({ y }));
    expect(out(after).op).toBe('input');
    expect(ops(after)).toEqual([]);
  });
  it('keeps x + 0 and x − (−0): for x = −0 they are +0, not x', () => {
    const g = graph();
    const x = g.input('x', [2]);
    expect(out(simplify(bound({ y: x.add(0) }))).op).toBe('add');
    expect(out(simplify(bound({ y: g.constant(0).add(x) }))).op).toBe('add');
    expect(out(simplify(bound({ y: x.sub(-0) }))).op).toBe('sub');
  });
  it('a where with a constant condition is the branch it picks (NaN picks the first)', () => {
    const g = graph();
    const [a, b] = [g.input('a', [2]), g.input('b', [2])];
    expect(out(simplify(bound({ y: g.constant(1).where(a, b) }))).name).toBe('a');
    expect(out(simplify(bound({ y: g.constant(0).where(a, b) }))).name).toBe('b');
    expect(out(simplify(bound({ y: g.constant(-0).where(a, b) }))).name).toBe('b');
    expect(out(simplify(bound({ y: g.constant(NaN).where(a, b) }))).name).toBe('a');
  });
  it('transposes that undo each other vanish; a reshape to the same shape too', () => {
    const g = graph();
    const x = g.input('x', [2, 3, 4]);
    const y = x.transpose([1, 2, 0]).transpose([2, 0, 1]).reshape([2, 3, 4]);
    expect(out(simplify(bound({ y }))).op).toBe('input');
  });
  it('keeps x · 1 when the 1 is what gives the result its shape', () => {
    const g = graph();
    const x = g.input('x', []);
    const ones = g.constant(1).broadcastTo([3]);
    expect(out(simplify(bound({ y: x.mul(ones) }))).op).toBe('mul');
  });
});

describe('common subexpression elimination', () => {
  it('+0 and −0 are different constants: p / 0 + p / −0 is NaN for p = 1, as unoptimized', async () => {
    const g = graph('signed_zero');
    const p = g.param('p', [2], { init: [1, -1] });
    const y = p.div(0).add(p.div(-0)).named('y');
    for (const optimize of [true, false]) {
      const model = await compile(g, { outputs: { y }, dtype: 'f64', optimize });
      model.forward({});
      expect(Array.from(model.outputs.y!)).toEqual([NaN, NaN]);
    }
  });
  it('maximum(p, q) and maximum(q, p) are one value, NaN included (IEEE 754 maximum)', async () => {
    const g = graph('max_nan');
    const p = g.param('p', [3], { init: [1, 0, -0] });
    const q = g.input('q', [3]);
    const y = p.maximum(q).sub(q.maximum(p)).add(p.minimum(q)).named('y');
    const feeds = { q: [NaN, -0, 0] };
    const reference = Array.from(interpret([y], { feeds, params: { p: [1, 0, -0] } }).get(y)!.data);
    expect(reference.map(String)).toEqual(['NaN', '0', '0']);
    for (const optimize of [true, false]) {
      const model = await compile(g, { outputs: { y }, dtype: 'f64', optimize });
      model.forward(feeds);
      expect(Array.from(model.outputs.y!).map((v) => (Object.is(v, -0) ? '-0' : String(v)))).toEqual(['NaN', '0', '0']);
    }
  });
  it('merges equal ops on equal operands, commutative ones in either order', () => {
    const g = graph();
    const [a, b] = [g.input('a', [2]), g.input('b', [2])];
    const y = a.mul(b).exp().add(b.mul(a).exp());
    const before = bound({ y });
    expect(ops(before)).toEqual(['mul', 'exp', 'mul', 'exp', 'add']);
    const after = eliminateCommonSubexpressions(before);
    expect(ops(after)).toEqual(['mul', 'exp', 'add']);
    const [e1, e2] = out(after).inputs as [PNode, PNode];
    expect(e1).toBe(e2);
  });
  it('does not merge ops whose attributes differ', () => {
    const g = graph();
    const a = g.input('a', [2, 3]);
    const y = a.sum(0).sum().add(a.sum(1).sum());
    expect(ops(eliminateCommonSubexpressions(bound({ y }))).filter((o) => o === 'sum')).toHaveLength(4);
  });
  it('removes the second backward chain built by a second grad call', () => {
    const g = graph();
    const x = g.input('x', [3]);
    const w = g.param('w', [3]);
    const loss = x.mul(w).exp().sum();
    grad(loss, [w]);
    const [gw, gx] = grad(loss, [w, x]);
    const p = boundGraph(g.nodes, { loss, grads: new Map([['w', gw!], ['x', gx!]]), outputs: new Map() }, {});
    const before = p.nodes.filter((n) => n.op === 'exp').length + p.nodes.filter((n) => n.op === 'mul').length;
    const after = eliminateCommonSubexpressions(p);
    expect(after.nodes.filter((n) => n.op === 'exp').length + after.nodes.filter((n) => n.op === 'mul').length).toBeLessThan(before);
  });
});

describe('dead code elimination', () => {
  it('drops what no root needs, keeps every param', () => {
    const g = graph();
    const x = g.input('x', [2]);
    const w = g.param('w', [2]);
    const unused = x.exp().log();
    const y = x.mul(2);
    const p = bound({ y });
    p.nodes.push(...bound({ unused }).nodes.filter((n) => n.op !== 'input' && n.op !== 'param'));
    const after = deadCode(p);
    expect(ops(after)).toEqual(['const 2', 'mul']);
    expect(after.nodes.some((n) => n.name === w.name)).toBe(true);
  });
});

describe('layout folding', () => {
  it('a matmul reads a transposed operand in place', () => {
    const g = graph();
    const [a, b] = [g.input('a', [3, 2]), g.input('b', [4, 3])];
    const y = a.transpose().matmul(b.transpose());
    const after = foldTransposes(bound({ y }));
    expect(ops(after)).toEqual(['matmul']);
    expect(out(after).attrs).toEqual({ transA: true, transB: true });
  });
});
