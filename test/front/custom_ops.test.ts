// Custom ops: a user's elementwise op, defined as the lecture defines Multiply(torch.autograd.Function),
// compiles, broadcasts, differentiates (twice) and gradchecks like a built-in; a bad definition is an error
// at the user's line, and the user's code reaches the generated module only as one parenthesized expression.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Project, ts as tsm } from 'ts-morph';
import ts from 'typescript';
import { markers, thrown } from '../support/helpers.ts';
import { describe, expect, it } from 'vitest';
import { allOps, alu, compile, customOp, emit, FlatgradError, getOp, grad, gradcheck, graph, interpret, mulberry32, type Expr, type Tensor } from '../../src/index.ts';

const { at } = markers(import.meta.url);
const thisFile = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');

/** The module parses as TypeScript with no syntax errors. */
function parses(source: string): void {
  const out = ts.transpileModule(source, { reportDiagnostics: true, compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } });
  expect((out.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
}

const close = (actual: ArrayLike<number>, expected: readonly number[], tol = 1e-12) => {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(expected[i]!)));
};

// ---- the ops under test ----

const cube = customOp({
  name: 'cube', arity: 1,
  f64: (x) => x * x * x,
  compute: (x) => alu.mul(alu.mul(x, x), x),
  backward: (grad, [x]) => [grad.mul(3).mul(x.square())],
});

// Uses its output, as sqrt's gradient does: d/dx sqrt(x² + y²) = x / h.
const hypot = customOp({
  name: 'hypot', arity: 2,
  f64: (x, y) => Math.sqrt(x * x + y * y),
  compute: (x, y) => alu.sqrt(alu.add(alu.mul(x, x), alu.mul(y, y))),
  backward: (grad, [x, y], h) => [grad.mul(x).div(h), grad.mul(y).div(h)],
  domain: 'awayFromZero',
});

// Gradients returned already reduced to the input's shape are taken as they are.
const mulAdd = customOp({
  name: 'mulAdd', arity: 3,
  f64: (a, b, c) => a * b + c,
  compute: (a, b, c) => alu.add(alu.mul(a, b), c),
  backward: (grad, [a, b]) => [grad.mul(b), grad.mul(a), grad],
});

// Its backward uses mulAdd, a call the scalar emitter inlines into the `* 2` that follows.
const shiftedSquare = customOp({
  name: 'shiftedSquare', arity: 1,
  f64: (x) => (x + 1) * (x + 1),
  compute: (x) => alu.mul(alu.add(x, 1), alu.add(x, 1)),
  backward: (grad, [x]) => [mulAdd(grad, x, grad).mul(2)],
});

// log's domain, and a sample of the user's own.
const xlogx = customOp({
  name: 'xlogx', arity: 1,
  f64: (x) => x * Math.log(x),
  compute: (x) => alu.mul(x, alu.log(x)),
  backward: (grad, [x]) => [grad.mul(x.log().add(1))],
  domain: 'positive',
});
const recip = customOp({
  name: 'recip', arity: 1,
  f64: (x) => 1 / x,
  compute: (x) => alu.div(1, x),
  backward: (grad, _inputs, y) => [grad.mul(y.square()).neg()],
  sample: (g, _rng, op) => op(g.param('a', [2, 3], { init: [1, 2, 4, -1, -2, -4] })).mul(g.param('w', [3], { init: [1, 2, 3] })),
});

// ---- README ----
// docs/custom-ops.md's example (the README's Custom ops links it) is the code between the markers below, after its import line.
// README:begin
// The lecture's Multiply(torch.autograd.Function), as a flatgrad op.
const multiply = customOp({
  name: 'multiply', arity: 2,
  f64: (x, y) => x * y, // forward, for the reference interpreter (float64)
  compute: (x, y) => alu.mul(x, y), // forward, over the ALU IR every backend renders
  backward: (grad, [x, y]) => [grad.mul(y), grad.mul(x)], // the inputs are what save_for_backward kept
});

const g = graph('lecture_multiply');
const x = g.param('x', [2, 3], { init: [1, 2, 3, 4, 5, 6] });
const y = g.input('y', [3]);
const z = multiply(x, y).named('z'); // y broadcasts along x's rows, as with x.mul(y)
const loss = z.sum().named('loss');
const model = await compile(g, { loss, wrt: [x, y], outputs: { z } }); // z is kept to be read (else it fuses into the sum)

model.forward({ y: [10, 20, 30] }); // 460
model.backward(); // grads.x: y on every row, [10, 20, 30, 10, 20, 30]; grads.y: x's column sums, [5, 7, 9]
// README:end

describe('the docs/custom-ops.md example', () => {
  it('is this file\'s code, and computes what its comments say', () => {
    const start = thisFile.indexOf('// README:begin');
    const end = thisFile.indexOf('// README:end');
    const ours = thisFile.slice(start + 1, end).join('\n').trim();
    const section = readFileSync(new URL('../../docs/custom-ops.md', import.meta.url), 'utf8');
    const block = /```ts\n([\s\S]*?)```/.exec(section)![1]!.trim();
    expect(block).toBe(`import { alu, compile, customOp, graph } from 'flatgrad';\n\n${ours}`);
    expect(model.forward({ y: [10, 20, 30] })).toBe(460);
    model.backward();
    expect(Array.from(model.grads.x!)).toEqual([10, 20, 30, 10, 20, 30]);
    expect(Array.from(model.grads.y!)).toEqual([5, 7, 9]);
    // The generated line the page quotes.
    const line = model.source.split('\n').find((l) => l.includes('z[i0 * 3 + i1] ='))!.trim();
    expect(section).toContain(line);
    expect(line).toBe('z[i0 * 3 + i1] = multiply(x[i0 * 3 + i1]!, y[i1]!);');
    expect(model.source).toContain('function multiply(x: number, y: number): number {\n  return x * y;\n}');
  });
});

describe('custom ops are ops', () => {
  it('land in the registry with the built-ins', () => {
    const names = allOps().map((o) => o.name);
    for (const name of ['cube', 'hypot', 'mulAdd', 'shiftedSquare', 'xlogx', 'recip', 'multiply', 'add', 'exp']) expect(names).toContain(name);
    expect(getOp('cube').elementwise!.f64(2)).toBe(8);
    expect(cube.name).toBe('cube');
  });

  it('xlogx and recip: hand values through the interpreter and the compiled module', async () => {
    const g = graph('two_more');
    const x = g.param('x', [3], { init: [1, Math.E, 0.5] });
    const a = xlogx(x).named('a');
    const r = recip(x).named('r');
    const ref = interpret([a, r], { params: { x: [1, Math.E, 0.5] } });
    close(ref.get(a)!.data, [0, Math.E, 0.5 * Math.log(0.5)]);
    close(ref.get(r)!.data, [1, 1 / Math.E, 2]);
    const model = await compile(g, { loss: a.add(r).sum(), outputs: { a, r }, dtype: 'f64' });
    model.forward({});
    model.backward();
    close(model.outputs.a!, [0, Math.E, 0.5 * Math.log(0.5)]);
    close(model.outputs.r!, [1, 1 / Math.E, 2]);
    // (ln x + 1) - 1/x²
    close(model.grads.x!, [1 - 1, 2 - 1 / (Math.E * Math.E), Math.log(0.5) + 1 - 4]);
  });

  it('cube: hand values in f64 and f32, and the generated code calls a function computing the user\'s expression', async () => {
    for (const dtype of ['f64', 'f32'] as const) {
      const g = graph(`cube_${dtype}`);
      const x = g.param('x', [3], { init: [1, 2, -1.5] });
      const y = cube(x).named('y');
      const model = await compile(g, { loss: y.sum(), outputs: { y }, dtype });
      expect(model.forward({})).toBe(1 + 8 - 3.375);
      model.backward();
      expect(Array.from(model.outputs.y!)).toEqual([1, 8, -3.375]);
      expect(Array.from(model.grads.x!)).toEqual([3, 12, 6.75]);
      expect(model.source).toContain('for (let i = 0; i < 3; i++) y[i] = cube(x[i]!);');
      expect(model.source).toContain('function cube(x: number): number {\n  return x * x * x;\n}');
      expect(model.source).toContain(dtype === 'f64' ? 'new Float64Array(arena, 0, 3)' : 'new Float32Array(arena, 0, 3)');
      parses(model.source);
    }
  });

  it('cube: the grad of its grad is 6x (the vjp is written with differentiable ops)', async () => {
    const g = graph('cube_twice');
    const x = g.param('x', [4], { init: [1, 2, -1.5, 0.25] });
    const [gx] = grad(cube(x).sum(), [x]);
    const model = await compile(g, { loss: gx!.sum(), wrt: [x], outputs: { gx: gx! }, dtype: 'f64' });
    model.forward({});
    model.backward();
    expect(Array.from(model.outputs.gx!)).toEqual([3, 12, 6.75, 0.1875]); // 3x²
    expect(Array.from(model.grads.x!)).toEqual([6, 12, -9, 1.5]); // 6x
    // The interpreter agrees with the compiled module on the second derivative.
    const [ggx] = grad(gx!.sum(), [x]);
    close(interpret([ggx!], { params: { x: [1, 2, -1.5, 0.25] } }).get(ggx!)!.data, [6, 12, -9, 1.5]);
  });

  it('hypot: broadcasting, hand values and hand gradients in f64 and f32', async () => {
    const r73 = Math.sqrt(73);
    const r52 = Math.sqrt(52);
    for (const dtype of ['f64', 'f32'] as const) {
      const g = graph(`hypot_${dtype}`);
      const a = g.param('a', [2, 1], { init: [3, 6] });
      const b = g.param('b', [2], { init: [4, 8] });
      const h = hypot(a, b).named('h');
      expect(h.shape).toEqual([2, 2]);
      const model = await compile(g, { loss: h.sum(), outputs: { h }, dtype });
      model.forward({});
      model.backward();
      const tol = dtype === 'f64' ? 1e-15 : 1e-6;
      close(model.outputs.h!, [5, r73, r52, 10], tol);
      // d/da sums a/h over each row; d/db sums b/h down each column.
      close(model.grads.a!, [3 / 5 + 3 / r73, 6 / r52 + 6 / 10], tol);
      close(model.grads.b!, [4 / 5 + 4 / r52, 8 / r73 + 8 / 10], tol);
      expect(model.source).toContain('h[i0 * 2 + i1] = hypot(a[i0]!, b[i1]!);');
      expect(model.source).toContain('return Math.sqrt(x * x + y * y);');
      parses(model.source);
    }
  });

  it('hypot and mulAdd gradcheck with broadcasting (numbers become constants)', async () => {
    const g = graph('gc');
    const a = g.param('a', [2, 3], { init: [0.5, -1, 2, 1.5, -0.7, 0.9] });
    const b = g.param('b', [3], { init: [1.2, -0.4, 0.8] });
    const c = g.param('c', [2, 1], { init: [0.3, -2] });
    const u = g.input('u', [2, 3]);
    const loss = mulAdd(hypot(a, b), c, b).add(mulAdd(2, a, 1)).mul(u).sum();
    const { errors, maxError } = await gradcheck(g, { loss });
    expect(Object.keys(errors).sort()).toEqual(['a', 'b', 'c']);
    expect(maxError).toBeLessThan(1e-6);
  });

  it('shiftedSquare: the scalar emitter inlines the mulAdd call into its consumer', async () => {
    const g = graph('shifted');
    const x = g.param('x', [], { init: 3 });
    const L = shiftedSquare(x).named('L');
    const model = await compile(g, { loss: L, dtype: 'f64' });
    expect(model.forward({})).toBe(16);
    model.backward();
    expect(model.grads.x![0]).toBe(8); // 2(x + 1)
    expect(model.source).toContain('L = shiftedSquare(x);');
    expect(model.source).toContain('mulAdd(grad_L, x, grad_L) * 2');
    // a subexpression it computes twice is computed once
    expect(model.source).toContain('function shiftedSquare(x: number): number {\n  const t0 = x + 1;\n  return t0 * t0;\n}');
    parses(model.source);
  });

  it('run as Wasm SIMD loops like the built-ins (the TypeScript loop stays beside it)', async () => {
    const g = graph('wasm_custom');
    const x = g.input('x', [2048]);
    const y = hypot(x, cube(x)).named('y');
    const model = await compile(g, { outputs: { y } });
    const xs = Float32Array.from({ length: 2048 }, (_, i) => Math.sin(i));
    model.forward({ x: xs });
    expect(model.source).toMatch(/loop_y\(\); \/\/ y\[i\] = flush_subnormal\(hypot\(x\[i\], cube\(x\[i\]\)\)\);/);
    expect(model.kernels).toMatch(/^wasm/);
    const want = Array.from(xs, (v) => Math.hypot(v, v ** 3));
    model.outputs.y!.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(2e-7 * Math.max(1, want[i]!)));
  });

  it('numbers-only or wrong-arity calls are errors at the caller\'s line', () => {
    const g = graph('calls');
    const x = g.param('x', [2]);
    const e1 = thrown(() => cube(2)); // @numbers
    expect(e1.message).toMatch(/^cube: needs at least one tensor operand, got 2/);
    expect(e1.message).toContain(at('numbers'));
    const e2 = thrown(() => cube(x, x)); // @arity-call
    expect(e2.message).toMatch(/^cube: expects 1 operand\(s\), got 2 \(operands x \[2\] and x \[2\]\)/);
    expect(e2.message).toContain(at('arity-call'));
    const e3 = thrown(() => hypot(x, 'y' as unknown as Tensor)); // @not-tensor
    expect(e3.message).toMatch(/^hypot: operands must be tensors or numbers, got y/);
    expect(e3.message).toContain(at('not-tensor'));
  });
});

// The registry test (test/front/ops.test.ts) walks allOps() in its own process, where these ops are not defined;
// the same walk, here, over the custom ops.
describe.each(['cube', 'hypot', 'mulAdd', 'shiftedSquare', 'xlogx', 'recip', 'multiply'])('registry walk: %s', (name) => {
  const op = getOp(name);
  it.each([1, 2, 3, 4])('gradchecks on its sample (seed %i)', async (seed) => {
    const g = graph(`check_${name}`);
    const out = op.sample(g, mulberry32(seed * 1000 + name.length));
    expect(g.nodes.some((n) => n.op === name)).toBe(true);
    const wrt = g.params();
    const u = g.input('u', out.shape);
    const { errors, maxError } = await gradcheck(g, { loss: out.mul(u).sum(), wrt, seed });
    expect(Object.keys(errors).sort()).toEqual(wrt.map((w) => w.name).sort());
    expect(maxError).toBeLessThan(1e-6);
  });

  it('compiles to the interpreter\'s values', async () => {
    const g = graph(`interp_${name}`);
    const out = op.sample(g, mulberry32(99));
    const model = await compile(g, { loss: out.sum(), outputs: { out }, dtype: 'f64', seed: 5 });
    model.forward({});
    model.backward();
    const params = Object.fromEntries(Object.entries(model.params).map(([k, v]) => [k, Array.from(v)]));
    const grads = g.params().map((p) => g.get(`grad_${p.name}`)!);
    const ref = interpret([out, ...grads], { params });
    close(model.outputs.out!, Array.from(ref.get(out)!.data));
    g.params().forEach((p, k) => close(model.grads[p.name]!, Array.from(ref.get(grads[k]!)!.data)));
    parses(model.source);
  });
});

it('modules using custom ops type-check under strict (as test/codegen/typecheck.test.ts checks the built-ins)', () => {
  const project = new Project({
    useInMemoryFileSystem: true,
    compilerOptions: { strict: true, noUnusedLocals: true, target: tsm.ScriptTarget.ES2022, module: tsm.ModuleKind.ESNext, lib: ['lib.es2022.d.ts'] },
  });
  const names = ['cube', 'hypot', 'mulAdd', 'shiftedSquare', 'xlogx', 'recip', 'multiply'];
  for (const name of names) {
    const g = graph(`typed_${name}`);
    const out = getOp(name).sample(g, mulberry32(7));
    const u = g.input('u', out.shape);
    project.createSourceFile(`/gen/${name}.ts`, emit(g, { loss: out.mul(u).sum(), outputs: { out } }));
    project.createSourceFile(`/gen/${name}_f64.ts`, emit(g, { loss: out.mul(u).sum(), dtype: 'f64' }));
  }
  // Scalar mode, where backward code is inlined.
  const g = graph('typed_scalar');
  const x = g.param('x', []);
  project.createSourceFile('/gen/scalar.ts', emit(g, { loss: shiftedSquare(cube(x)).add(hypot(x, 2)) }));
  const problems = project.getPreEmitDiagnostics().map((d) => `${d.getSourceFile()?.getBaseName()}:${d.getLineNumber()}: ${tsm.flattenDiagnosticMessageText(d.getMessageText() as string, '\n')}`);
  expect(problems).toEqual([]);
  expect(project.getSourceFiles()).toHaveLength(2 * names.length + 1);
});

describe('default samples', () => {
  it('draw from the domain and broadcast one operand', () => {
    for (let seed = 0; seed < 8; seed++) {
      const g = graph('s');
      const out = getOp('xlogx').sample(g, mulberry32(seed));
      const values = g.params()[0]!.attrs.init as number[];
      expect(values.every((v) => v >= 0.5 && v < 1.5)).toBe(true);
      expect(out.op).toBe('xlogx');
    }
    const ranks = new Set<string>();
    for (let seed = 0; seed < 16; seed++) {
      const g = graph('s');
      getOp('hypot').sample(g, mulberry32(seed));
      const [a, b] = g.params();
      expect([a!.name, b!.name]).toEqual(['a', 'b']);
      for (const p of [a!, b!]) expect((p.attrs.init as number[]).every((v) => Math.abs(v) >= 0.2 && Math.abs(v) < 1.2)).toBe(true);
      ranks.add(`${a!.rank},${b!.rank}`);
    }
    expect(ranks.size).toBeGreaterThan(1); // sometimes a, sometimes b is the broadcast partner
  });

  it('use the user\'s sample when given', () => {
    const g = graph('s');
    const out = getOp('recip').sample(g, mulberry32(1));
    expect(g.params().map((p) => `${p.name}${JSON.stringify(p.shape)}`)).toEqual(['a[2,3]', 'w[3]']);
    expect(out.op).toBe('mul');
    expect(out.inputs[0]!.op).toBe('recip');
  });

  it('take one domain per operand, or { min, max }', async () => {
    const ranged = customOp({
      name: 'ranged', arity: 2,
      f64: (p, q) => Math.log(p) * q,
      compute: (p, q) => alu.mul(alu.log(p), q),
      backward: (grad, [p, q]) => [grad.mul(q).div(p), grad.mul(p.log())],
      domain: ['positive', { min: 10, max: 11 }],
    });
    const g = graph('ranged');
    const out = getOp('ranged').sample(g, mulberry32(3));
    const [p, q] = g.params().map((t) => t.attrs.init as number[]);
    expect(p!.every((v) => v >= 0.5 && v < 1.5)).toBe(true);
    expect(q!.every((v) => v >= 10 && v < 11)).toBe(true);
    const u = g.input('u', out.shape);
    expect((await gradcheck(g, { loss: out.mul(u).sum() })).maxError).toBeLessThan(1e-6);
    expect(ranged.name).toBe('ranged');
  });
});

describe('a bad definition is an error at the user\'s line, and registers nothing', () => {
  const ok = {
    arity: 1,
    f64: (v: number) => v,
    compute: (v: Expr) => v,
    backward: (grad: Tensor) => [grad],
  };
  const fails = (f: () => unknown, tag: string, message: RegExp) => {
    const e = thrown(f);
    expect(e.message).toMatch(message);
    expect(e.message).toContain(at(tag));
    return e;
  };
  const notId = /^customOp: name .* is not an identifier \(letters, digits and _, not starting with a digit\)/;

  it('names must be identifiers', () => {
    fails(() => customOp({ ...ok, name: 'x; process.exit(1)' }), 'semi', notId); // @semi
    fails(() => customOp({ ...ok, name: '*/ evil() /*' }), 'comment', notId); // @comment
    fails(() => customOp({ ...ok, name: 'a\nb' }), 'newline', notId); // @newline
    fails(() => customOp({ ...ok, name: 'cub\u0435' }), 'lookalike', notId); // @lookalike
    fails(() => customOp({ ...ok, name: '1x' }), 'digit', notId); // @digit
    fails(() => customOp({ ...ok, name: '' }), 'empty', notId); // @empty
    fails(() => customOp({ ...ok, name: 42 as unknown as string }), 'number', /^customOp: name 42 is not an identifier/); // @number
  });

  it('names may not be taken, nor be leaf kinds or inherited properties', () => {
    fails(() => customOp({ ...ok, name: 'exp' }), 'builtin', /^customOp: an op named 'exp' is already registered; choose another name/); // @builtin
    fails(() => customOp({ ...ok, name: 'cube' }), 'twice', /^customOp: an op named 'cube' is already registered/); // @twice
    for (const name of ['param', 'input', 'const']) {
      fails(() => customOp({ ...ok, name }), 'leaf', new RegExp(`^customOp: name '${name}' is reserved; choose another`)); // @leaf
    }
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      fails(() => customOp({ ...ok, name }), 'inherited', new RegExp(`^customOp: name '${name}' is reserved`)); // @inherited
    }
  });

  it('arity is 1 to 4', () => {
    for (const arity of [0, 5, 1.5, -1, NaN]) {
      fails(() => customOp({ ...ok, name: 'badArity', arity }), 'arity', /^customOp: 'badArity': arity must be an integer from 1 to 4, got/); // @arity
    }
    fails(() => customOp({ ...ok, name: 'badArity', arity: '2' as unknown as number }), 'arity-string', /got "2"/); // @arity-string
  });

  it('f64, compute and backward are functions; domains are known', () => {
    fails(() => customOp({ ...ok, name: 'noF64', f64: 3 as unknown as typeof ok.f64 }), 'f64', /^customOp: 'noF64': f64 must be a function, got number/); // @f64
    const { backward: _, ...noBackward } = ok;
    fails(() => customOp({ ...noBackward, name: 'noBackward' } as unknown as Parameters<typeof customOp>[0]), 'backward', // @backward
      /^customOp: 'noBackward': backward must be a function, got undefined/);
    fails(() => customOp({ ...ok, name: 'badDomain', domain: 'negative' as 'any' }), 'domain', // @domain
      /^customOp: 'badDomain': bad domain "negative"; use 'any', 'positive', 'awayFromZero' or \{ min, max \} with min < max/);
    fails(() => customOp({ ...ok, name: 'badDomain', domain: { min: 2, max: 1 } }), 'range', /bad domain \{"min":2,"max":1\}/); // @range
    fails(() => customOp({ ...ok, name: 'badDomain', domain: ['any', 'any'] }), 'domains', /^customOp: 'badDomain': domain lists 2 domains for 1 operand\(s\)/); // @domains
  });

  it('compute must build an expression of the ALU IR from its operands', () => {
    const spec = (compute: (...args: Expr[]) => unknown) => ({ ...ok, name: 'badCompute', compute: compute as (...args: Expr[]) => Expr });
    const why = (reason: RegExp) =>
      new RegExp(`^customOp: 'badCompute': compute must build an expression with flatgrad's alu builders \\(alu.add, alu.exp, …\\) from its operands, but ${reason.source}`);
    fails(() => customOp(spec((x) => `${String(x)} * 2`)), 'c-string', why(/it holds ".*", not an expression/)); // @c-string
    fails(() => customOp(spec(() => 3)), 'c-number', why(/it holds 3, not an expression/)); // @c-number
    fails(() => customOp(spec((x) => ({ k: 'alu', op: 'cube', args: [x] }))), 'c-op', why(/it holds "alu", which is not one/)); // @c-op
    fails(() => customOp(spec((x) => ({ k: 'alu', op: 'add', args: [x] }))), 'c-arity', why(/it holds "alu", which is not one/)); // @c-arity
    fails(() => customOp(spec(() => ({ k: 'load', buf: 'secret', strides: [1] }))), 'c-load', why(/it holds "load", which is not one/)); // @c-load
    fails(() => customOp(spec(() => ({ k: 'arg', index: 1 }))), 'c-arg', why(/it holds "arg", which is not one/)); // @c-arg
    fails(() => customOp({ ...ok, name: 'badCompute', compute: () => { throw new Error('oops'); } }), 'c-throw', /^customOp: 'badCompute': compute threw Error: oops/); // @c-throw
    // numbers are literals wherever an operand goes
    expect(() => customOp({ ...ok, name: 'withNumbers', compute: (v) => alu.add(alu.mul(v, 2), 0.5) })).not.toThrow();
  });

  it('a failed definition does not register its name', () => {
    expect(() => customOp({ ...ok, name: 'later', compute: () => 'x0;' as unknown as Expr })).toThrow(FlatgradError);
    expect(allOps().map((o) => o.name)).not.toContain('later');
    const later = customOp({ ...ok, name: 'later' });
    expect(later.name).toBe('later');
  });

  it('backward must give one gradient per input, of a shape that fits', () => {
    const few = customOp({ ...ok, name: 'few', arity: 2, backward: (grad) => [grad] }); // @few
    const g = graph('few');
    const x = g.param('x', [2]);
    const e1 = thrown(() => grad(few(x, x).sum(), [x]));
    expect(e1.message).toMatch(/^customOp: 'few': backward must return an array of 2 gradient\(s\) \(a tensor or null per input\), got an array of 1/);
    expect(e1.message).toContain(at('few'));

    const wrong = customOp({ ...ok, name: 'wrongShape', backward: (grad) => [grad.sum(0, true).broadcastTo([3, 2])] }); // @wrong
    const g2 = graph('wrong');
    const w = g2.param('w', [2]);
    const e2 = thrown(() => grad(wrong(w).sum(), [w]));
    expect(e2.message).toMatch(/^customOp: 'wrongShape': backward's gradient 0 has shape \[3, 2\]; it must broadcast to the output's \[2\] or be the input's \[2\]/);
    expect(e2.message).toContain(at('wrong'));

    const stray = customOp({ ...ok, name: 'stray', backward: () => ['not a tensor' as unknown as Tensor] }); // @stray
    const g3 = graph('stray');
    const s = g3.param('s', [2]);
    const e3 = thrown(() => grad(stray(s).sum(), [s]));
    expect(e3.message).toMatch(/^customOp: 'stray': backward's gradient 0 must be a tensor of the graph or null, got string/);
    expect(e3.message).toContain(at('stray'));
  });

  it('a null gradient means none; a scalar gradient is broadcast to the output first', async () => {
    const step = customOp({ name: 'step', arity: 1, f64: (v) => (v > 0 ? 1 : 0), compute: (v) => alu.greater(v, 0), backward: () => [null] });
    const halfSum = customOp({ name: 'halfSum', arity: 2, f64: (p, q) => (p + q) / 2, compute: (p, q) => alu.div(alu.add(p, q), 2), backward: (grad) => [grad.mul(0.5), grad.sum().mul(0.5)] });
    const g = graph('odd_grads');
    const a = g.param('a', [2, 2], { init: [1, -1, 2, -2] });
    const b = g.param('b', [2], { init: [3, 5] });
    const loss = step(a).mul(a).add(halfSum(a, b)).sum();
    // halfSum's gradient for b came back as a scalar (the sum over the output): broadcast to [2, 2], then summed to [2].
    // Its value is wrong for b on purpose — the test is that its shape is made to fit, not that it is right.
    const model = await compile(g, { loss, dtype: 'f64' });
    expect(model.forward({})).toBe(1 + 2 + (1 + 3 - 1 + 5 + 2 + 3 - 2 + 5) / 2);
    model.backward();
    expect(Array.from(model.grads.a!)).toEqual([1.5, 0.5, 1.5, 0.5]); // step·1 + 0.5; step has no gradient
    expect(Array.from(model.grads.b!)).toEqual([4, 4]); // 0.5·sum(grad) = 2 per element, summed over 2 rows
    expect(model.source).toContain('step_2(a[i]!)'); // its name is the generated step()'s, so its function is called otherwise
    expect(model.source).toContain('function step_2(x: number): number {\n  return x > 0 ? 1 : 0;\n}');
    parses(model.source);
  });

  it('its name names its function in the code, never anything else', () => {
    const g = graph('named_fn');
    const x = g.param('x', [3]);
    const source = emit(g, { loss: cube(x).sum() });
    const code = source.replace(/\/\/ .*$/gm, ''); // (comments may say what a gate computes: `sum(cube(x))`)
    expect(code.match(/\bcube\b/g)).toHaveLength(2); // the function and its one call
    parses(source);
  });
});
