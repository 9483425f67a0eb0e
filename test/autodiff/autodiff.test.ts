// Symbolic autodiff: gradients are graph nodes, summed over uses, summed back over broadcasts, and only where needed.
import { describe, expect, it } from 'vitest';
import { compile, grad, graph, interpret, mulberry32, randn, type Tensor } from '../../src/index.ts';

const close = (actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-12) => {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Math.abs(a - e) > tol * Math.max(1, Math.abs(e))) expect.fail(`element ${i}: got ${a}, expected ${e}`);
  }
};

describe('gradients are ordinary graph nodes', () => {
  const build = () => {
    const g = graph('nodes');
    const x = g.input('x', [2, 3]);
    const w = g.param('w', [3, 2]);
    const b = g.param('b', [2]);
    const loss = x.matmul(w).add(b).sigmoid().sum().named('loss');
    return { g, x, w, b, loss };
  };

  it('named grad_<name>, in the graph, built in the backward phase', () => {
    const { g, w, b, loss } = build();
    const forwardCount = g.nodes.length;
    expect(g.get('grad_w')).toBeUndefined();
    const [gw, gb] = grad(loss, [w, b]);
    expect(gw).toBe(g.get('grad_w'));
    expect(gb).toBe(g.get('grad_b'));
    expect(g.get('grad_w')?.op).toBe('matmul'); // xᵀ · grad of the matmul's output
    expect(g.get('grad_w')?.shape).toEqual([3, 2]);
    expect(g.get('grad_b')?.shape).toEqual([2]);
    expect(g.get('grad_loss')?.op).toBe('const');
    expect(g.get('grad_loss')?.attrs.value).toBe(1);
    expect(String(gw)).toBe('grad_w: matmul[3, 2]');
    expect(g.nodes.length).toBeGreaterThan(forwardCount);
    for (const n of g.nodes.slice(forwardCount)) {
      expect(n.phase).toBe('backward');
      expect(g.nodes[n.id]).toBe(n);
    }
    for (const n of g.nodes.slice(0, forwardCount)) expect(n.phase).toBe('forward');
    // grad_w reads x through a transpose: x is an input of the backward graph like any node.
    expect(gw!.inputs.some((i) => i.op === 'transpose' && i.inputs[0]!.name === 'x')).toBe(true);
    expect(g.phase).toBe('forward');
  });

  it('asking twice for the same loss and wrt returns the same nodes and adds none', async () => {
    const { g, w, b, loss } = build();
    const first = grad(loss, [w, b]);
    const count = g.nodes.length;
    const again = grad(loss, [b, w]);
    expect(again[0]).toBe(first[1]);
    expect(again[1]).toBe(first[0]);
    expect(grad(loss, [w])[0]).toBe(first[0]);
    expect(g.nodes.length).toBe(count);
    // compile with the default wrt (every param) reuses them too.
    await compile(g, { loss, dtype: 'f64' });
    expect(g.nodes.length).toBe(count);
    expect(g.get('grad_w_2')).toBeUndefined();
    expect(g.nodes.filter((n) => /^grad_(w|b|loss)(_\d+)?$/.test(n.name)).map((n) => n.name).sort()).toEqual(['grad_b', 'grad_loss', 'grad_w']);
  });

  it('a user name that looks like a gradient is not taken over', () => {
    const g = graph('taken');
    const w = g.param('w', [2]);
    const mine = w.mul(3).named('grad_w');
    const loss = mine.sum().named('loss');
    const [gw] = grad(loss, [w]);
    expect(g.get('grad_w')).toBe(mine);
    expect(gw!.name).toBe('grad_w_2');
    expect(gw!.shape).toEqual([2]);
  });

  it('gradient nodes differentiate like any other (second derivative of x³)', async () => {
    const g = graph('second');
    const x = g.input('x', []);
    const f = x.mul(x).mul(x).named('f');
    const [dx] = grad(f, [x]);
    const [ddx] = grad(dx!, [x]);
    expect(dx!.name).toBe('grad_x');
    expect(ddx!.name).toBe('grad_x_2');
    for (const v of [-2, 0.5, 3]) {
      const r = interpret([dx!, ddx!], { feeds: { x: v } });
      close(r.get(dx!)!.data, [3 * v * v]);
      close(r.get(ddx!)!.data, [6 * v]);
    }
    const model = await compile(g, { loss: dx!, wrt: [x], dtype: 'f64' });
    expect(model.forward({ x: 3 })).toBe(27);
    model.backward();
    close(model.grads.x!, [18]);
  });
});

describe('a value used twice gets the sum of both contributions (the copy gate)', () => {
  it('f = x·x + x has df/dx = 2x + 1', async () => {
    const g = graph('copy_gate');
    const x = g.input('x', []);
    const f = x.mul(x).add(x).named('f');
    const model = await compile(g, { loss: f, wrt: [x], dtype: 'f64' });
    // Three contributions (two from the mul, one from the add) are added into grad_x.
    expect(g.get('grad_x')?.op).toBe('add');
    for (const v of [-1.5, 0, 2, 3.25, -7]) {
      expect(model.forward({ x: v })).toBe(v * v + v);
      model.grads.x!.fill(NaN);
      model.backward();
      close(model.grads.x!, [2 * v + 1]);
    }
  });

  it('a param used by two different ops: d/dw Σ(w·c + exp(w)) = c + exp(w)', async () => {
    const g = graph('two_uses');
    const w = g.param('w', [3], { init: [0.5, -1, 2] });
    const c = g.input('c', [3]);
    const loss = w.mul(c).sum().add(w.exp().sum()).named('loss');
    const model = await compile(g, { loss, dtype: 'f64' });
    // The sum of the two contributions is itself grad_w (no identity alias in between).
    expect(g.get('grad_w')?.op).toBe('add');
    expect(g.nodes.filter((n) => n.op === 'identity' && n.inputs[0] === g.get('grad_w'))).toEqual([]);
    const cv = [2, -3, 0.25];
    model.forward({ c: cv });
    model.backward();
    close(model.grads.w!, [0.5, -1, 2].map((v, i) => cv[i]! + Math.exp(v)));
  });

  it('a value used twice by one op through a chain: d/dx Σ tanh(x)² = 2 tanh(x)(1 − tanh(x)²)', async () => {
    const g = graph('chain_reuse');
    const x = g.input('x', [4]);
    const h = x.tanh().named('h');
    const loss = h.mul(h).sum().named('loss');
    const model = await compile(g, { loss, wrt: [x], dtype: 'f64' });
    const xv = [-1, -0.2, 0.3, 1.7];
    model.forward({ x: xv });
    model.backward();
    close(model.grads.x!, xv.map((v) => 2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2)));
  });
});

describe('broadcasting is reversed by summing', () => {
  // Loss = Σ W ⊙ f(a, b) with a fixed weight W, so each gradient is a W-weighted sum we can write by hand.
  const W = [1, -2, 3, 0.5, 4, -1.5];
  const A = [0.3, -0.7, 1.1, 2, -0.4, 0.9];

  it('a [2, 3] + b [3]: grad_b sums over the rows', async () => {
    const g = graph('bcast_row');
    const a = g.param('a', [2, 3], { init: A });
    const b = g.param('b', [3], { init: [0.2, -0.1, 0.5] });
    const w = g.input('W', [2, 3]);
    const loss = w.mul(a.add(b).square()).sum().named('loss');
    const model = await compile(g, { loss, dtype: 'f64' });
    model.forward({ W });
    model.backward();
    const B = [0.2, -0.1, 0.5];
    const ga = A.map((v, k) => 2 * W[k]! * (v + B[k % 3]!));
    close(model.grads.a!, ga);
    close(model.grads.b!, [0, 1, 2].map((j) => ga[j]! + ga[3 + j]!));
    expect(g.get('grad_b')?.shape).toEqual([3]);
  });

  it('a [2, 3] * b [2, 1]: grad_b sums over the columns and keeps its [2, 1] shape', async () => {
    const g = graph('bcast_col');
    const a = g.param('a', [2, 3], { init: A });
    const b = g.param('b', [2, 1], { init: [1.5, -2] });
    const w = g.input('W', [2, 3]);
    const loss = w.mul(a.mul(b)).sum().named('loss');
    const model = await compile(g, { loss, dtype: 'f64' });
    model.forward({ W });
    model.backward();
    close(model.grads.a!, W.map((v, k) => v * [1.5, -2][Math.floor(k / 3)]!));
    close(model.grads.b!, [0, 1].map((i) => [0, 1, 2].reduce((s, j) => s + W[3 * i + j]! * A[3 * i + j]!, 0)));
    expect(g.get('grad_b')?.shape).toEqual([2, 1]);
  });

  it('scalar params [] and [1]: their gradient is the sum over everything', async () => {
    const g = graph('bcast_scalar');
    const a = g.param('a', [2, 3], { init: A });
    const s = g.param('s', [], { init: 0.75 });
    const t = g.param('t', [1], { init: -0.5 });
    const w = g.input('W', [2, 3]);
    const loss = w.mul(a.mul(s).add(t)).sum().named('loss');
    const model = await compile(g, { loss, dtype: 'f64' });
    model.forward({ W });
    model.backward();
    close(model.grads.s!, [W.reduce((acc, v, k) => acc + v * A[k]!, 0)]);
    close(model.grads.t!, [W.reduce((acc, v) => acc + v, 0)]);
    close(model.grads.a!, W.map((v) => 0.75 * v));
    expect(g.get('grad_s')?.shape).toEqual([]);
    expect(g.get('grad_t')?.shape).toEqual([1]);
  });

  it('both operands broadcast: c [3, 1] + r [1, 4]', async () => {
    const g = graph('bcast_both');
    const c = g.param('c', [3, 1], { init: [1, 2, 3] });
    const r = g.param('r', [1, 4], { init: [0.1, 0.2, 0.3, 0.4] });
    const w = g.input('W', [3, 4]);
    const loss = w.mul(c.add(r)).sum().named('loss');
    const model = await compile(g, { loss, dtype: 'f64' });
    const Wv = Array.from({ length: 12 }, (_, k) => ((k * 7) % 5) - 2 + k / 10);
    model.forward({ W: Wv });
    model.backward();
    close(model.grads.c!, [0, 1, 2].map((i) => [0, 1, 2, 3].reduce((s, j) => s + Wv[4 * i + j]!, 0)));
    close(model.grads.r!, [0, 1, 2, 3].map((j) => [0, 1, 2].reduce((s, i) => s + Wv[4 * i + j]!, 0)));
  });

  it('over a symbolic dim: bias [H] added to [N, H]', async () => {
    const g = graph('bcast_symbolic');
    const x = g.input('x', ['N', 'H']);
    const bias = g.param('bias', ['H'], { init: 'zeros' });
    const loss = x.add(bias).square().sum().named('loss');
    const model = await compile(g, { loss, dims: { N: 3, H: 2 }, dtype: 'f64' });
    const xv = [1, 2, 3, 4, 5, 6];
    model.forward({ x: xv });
    model.backward();
    close(model.grads.bias!, [2 * (1 + 3 + 5), 2 * (2 + 4 + 6)]);
  });
});

describe('only what the requested gradients need is computed', () => {
  const build = () => {
    const g = graph('needs');
    const x = g.input('x', [2, 3]);
    const w = g.param('w', [3, 1], { init: [0.1, 0.2, 0.3] });
    const v = g.param('v', [2], { init: [1, -1] });
    const side = v.square().sum().named('side');
    const loss = x.matmul(w).tanh().sum().add(side).named('loss');
    return { g, x, w, v, loss };
  };
  const xv = [1, 2, 3, -1, 0.5, 2];

  it('wrt [w]: no grad_x, no grad of the other param or its branch', async () => {
    const { g, w, loss } = build();
    const model = await compile(g, { loss, wrt: [w], dtype: 'f64' });
    expect(model.source).toContain('grad_w');
    expect(model.source).not.toContain('grad_x');
    expect(model.source).not.toContain('grad_v');
    expect(model.source).not.toContain('grad_side');
    expect(Object.keys(model.grads)).toEqual(['w']);
    expect(g.get('grad_x')).toBeUndefined();
    expect(g.get('grad_side')).toBeUndefined();
    model.forward({ x: xv });
    model.backward();
    // d/dw Σ tanh(x·w) = xᵀ · (1 − tanh²(x·w))
    const z = [0, 1].map((i) => [0, 1, 2].reduce((s, k) => s + xv[3 * i + k]! * [0.1, 0.2, 0.3][k]!, 0));
    const dz = z.map((t) => 1 - Math.tanh(t) ** 2);
    close(model.grads.w!, [0, 1, 2].map((k) => xv[k]! * dz[0]! + xv[3 + k]! * dz[1]!));
  });

  it('wrt [w, x]: grad_x is there and right', async () => {
    const { g, w, x, loss } = build();
    const model = await compile(g, { loss, wrt: [w, x], dtype: 'f64' });
    expect(model.source).toContain('grad_w');
    expect(model.source).toContain('grad_x');
    expect(model.source).not.toContain('grad_v');
    expect(Object.keys(model.grads).sort()).toEqual(['w', 'x']);
    model.forward({ x: xv });
    model.backward();
    const ref = interpret([g.get('grad_x')!], { feeds: { x: xv }, params: { w: [0.1, 0.2, 0.3], v: [1, -1] } });
    close(model.grads.x!, ref.get(g.get('grad_x')!)!.data);
    const z = [0, 1].map((i) => [0, 1, 2].reduce((s, k) => s + xv[3 * i + k]! * [0.1, 0.2, 0.3][k]!, 0));
    close(model.grads.x!, [0, 1].flatMap((i) => [0.1, 0.2, 0.3].map((wk) => wk * (1 - Math.tanh(z[i]!) ** 2))));
  });

  it('the default wrt is every param and no input', async () => {
    const { g, loss } = build();
    const model = await compile(g, { loss, dtype: 'f64' });
    expect(Object.keys(model.grads).sort()).toEqual(['v', 'w']);
    expect(model.source).not.toContain('grad_x');
    model.forward({ x: xv });
    model.backward();
    close(model.grads.v!, [2, -2]);
  });

  it('adding x to wrt later, on the same graph, adds grad_x', async () => {
    const { g, w, x, loss } = build();
    const first = await compile(g, { loss, wrt: [w], dtype: 'f64' });
    expect(first.source).not.toContain('grad_x');
    const second = await compile(g, { loss, wrt: [w, x], dtype: 'f64' });
    expect(second.source).toContain('grad_x');
    first.forward({ x: xv });
    first.backward();
    second.forward({ x: xv });
    second.backward();
    close(second.grads.w!, first.grads.w!);
  });
});

describe('compiled gradients equal the reference interpreter', () => {
  it('a small MLP with a symbolic batch, relu, broadcast bias and mean', async () => {
    const g = graph('mlp');
    const x = g.input('x', ['N', 4]);
    const y = g.input('y', ['N', 2]);
    const w1 = g.param('w1', [4, 3]);
    const b1 = g.param('b1', [3], { init: { normal: 0.5 } });
    const w2 = g.param('w2', [3, 2]);
    const b2 = g.param('b2', [2], { init: 0.1 });
    const pre = x.matmul(w1).add(b1).named('pre');
    const h = pre.relu().named('h');
    const pred = h.matmul(w2).add(b2).named('pred');
    const loss = pred.sub(y).square().mean().named('loss');
    const wrt: Tensor[] = [w1, b1, w2, b2, x];
    const dims = { N: 5 };

    const model = await compile(g, { loss, wrt, dims, dtype: 'f64', seed: 3 });
    const gradNodes = grad(loss, wrt); // the nodes compile used (memoized), not new ones
    expect(gradNodes.map((n) => n.name)).toEqual(['grad_w1', 'grad_b1', 'grad_w2', 'grad_b2', 'grad_x']);

    const rng = mulberry32(11);
    const feeds = { x: Array.from({ length: 20 }, () => randn(rng)), y: Array.from({ length: 10 }, () => randn(rng)) };
    const params = Object.fromEntries(Object.entries(model.params).map(([k, v]) => [k, Array.from(v)]));
    const lossValue = model.forward(feeds);
    model.backward();

    const ref = interpret([loss, pre, ...gradNodes], { dims, feeds, params });
    expect(ref.get(loss)!.shape).toEqual([]);
    close([lossValue], ref.get(loss)!.data);
    // relu must matter: some pre-activations are negative and some positive.
    const preData = Array.from(ref.get(pre)!.data);
    expect(preData.some((v) => v < 0) && preData.some((v) => v > 0)).toBe(true);
    for (const [k, node] of gradNodes.entries()) {
      const name = wrt[k]!.name;
      expect(ref.get(node)!.shape).toEqual({ w1: [4, 3], b1: [3], w2: [3, 2], b2: [2], x: [5, 4] }[name]);
      close(model.grads[name]!, ref.get(node)!.data);
      expect(Array.from(model.grads[name]!).some((v) => v !== 0)).toBe(true);
    }

    // And both agree with central differences of the interpreted loss, independent of any vjp rule.
    const lossAt = (name: string, i: number, delta: number) => {
      const p = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, [...v]]));
      const f = { x: [...feeds.x], y: feeds.y };
      (name === 'x' ? f.x : p[name]!)[i]! += delta;
      return interpret([loss], { dims, feeds: f, params: p }).get(loss)!.data[0]!;
    };
    const eps = 1e-6;
    for (const name of ['w1', 'b1', 'w2', 'b2', 'x']) {
      const analytic = model.grads[name]!;
      for (let i = 0; i < analytic.length; i++) {
        const numeric = (lossAt(name, i, eps) - lossAt(name, i, -eps)) / (2 * eps);
        expect(Math.abs(numeric - analytic[i]!)).toBeLessThan(1e-6);
      }
    }
  });
});
