// Errors are for people: each names what went wrong, the values involved, and the user's line that caused it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { markers, thrown, rejected, thrownError } from '../support/helpers.ts';
import { describe, expect, it } from 'vitest';
import { compile, emit, grad, graph } from '../../src/index.ts';

// The expected line of an offending call is found by reading this file, not the stack the library also reads:
const { lineOf, at } = markers(import.meta.url);

describe('the line helper itself', () => {
  it('finds exactly the marked line', () => {
    const line = Number(new Error().stack!.split('\n')[1]!.match(/:(\d+):\d+\)?$/)![1]); // @self
    expect(lineOf('self')).toBe(line);
    expect(() => lineOf('no-such-marker')).toThrow(/appears 0 times/);
  });
});

describe('shape mismatches are caught while building, at the user line', () => {
  const setup = () => {
    const g = graph('shapes');
    const x = g.input('x', ['N', 3]);
    return { g, x };
  };

  it('add: [N, 3] + [4] cannot broadcast', () => {
    const { g, x } = setup();
    const b = g.param('b', [4]);
    const before = g.nodes.length;
    const e = thrown(() => x.add(b)); // @add
    expect(e.message).toMatch(/^add: cannot broadcast/);
    expect(e.message).toContain('x [N, 3]');
    expect(e.message).toContain('b [4]');
    expect(e.message).toContain(at('add'));
    expect(e.site).toMatch(new RegExp(`test/front/errors\\.test\\.ts:${lineOf('add')}:\\d+$`));
    expect(g.nodes.length).toBe(before); // nothing half-built is left in the graph
  });

  it('a symbol broadcasts only with itself or 1', () => {
    const { g, x } = setup();
    const m = g.input('m', ['M', 3]);
    const e = thrown(() => x.sub(m)); // @symbols
    expect(e.message).toMatch(/^sub: cannot broadcast: axis -2 \(counting from the end, as numpy aligns shapes\) is N in one operand and M in another/);
    expect(e.message).toContain('x [N, 3]');
    expect(e.message).toContain('m [M, 3]');
    expect(e.message).toContain(at('symbols'));
  });

  it('matmul: inner dimensions differ', () => {
    const { g, x } = setup();
    const w = g.param('w', [4, 2]);
    const e = thrown(() => x.matmul(w)); // @matmul
    expect(e.message).toMatch(/^matmul: inner dimensions differ: 3 vs 4/);
    expect(e.message).toContain('x [N, 3]');
    expect(e.message).toContain('w [4, 2]');
    expect(e.message).toContain(at('matmul'));
  });

  it('matmul: needs rank 2', () => {
    const { g, x } = setup();
    const v = g.param('v', [3]);
    const e = thrown(() => x.matmul(v)); // @matmul-rank
    expect(e.message).toMatch(/^matmul: needs two matrices \(rank 2\), got ranks 2 and 1/);
    expect(e.message).toContain('v [3]');
    expect(e.message).toContain(at('matmul-rank'));
  });

  it('points at the failing call inside a multi-line chain', () => {
    const { g, x } = setup();
    const w = g.param('w', [4, 2]);
    const e = thrown(() =>
      x
        .mul(2)
        .sigmoid()
        .matmul(w), // @chain
    );
    expect(e.message).toMatch(/^matmul: inner dimensions differ/);
    expect(e.message).toContain('[N, 3]');
    expect(e.message).toContain(at('chain'));
  });

  it('reshape: sizes differ', () => {
    const { g } = setup();
    const a = g.param('a', [2, 3]);
    const e = thrown(() => a.reshape([4, 2])); // @reshape
    expect(e.message).toMatch(/^reshape: cannot reshape \[2, 3\] to \[4, 2\]: sizes differ/);
    expect(e.message).toContain('a [2, 3]');
    expect(e.message).toContain(at('reshape'));
  });

  it('reshape: a symbol must carry over', () => {
    const { x } = setup();
    const e = thrown(() => x.reshape(['M', 3])); // @reshape-symbol
    expect(e.message).toMatch(/^reshape: cannot reshape \[N, 3\] to \[M, 3\]: symbol 'M' is not in the input/);
    expect(e.message).toContain(at('reshape-symbol'));
  });

  it('reshape: -1 that cannot be inferred, and two -1s', () => {
    const { g } = setup();
    const a = g.param('a', [2, 3]);
    const e = thrown(() => a.reshape([4, -1])); // @reshape-infer
    expect(e.message).toMatch(/^reshape: cannot infer -1 reshaping \[2, 3\] to \[4, -1\]/);
    expect(e.message).toContain(at('reshape-infer'));
    expect(thrown(() => a.reshape([-1, -1])).message).toMatch(/^reshape: at most one dimension may be -1/);
  });

  it('transpose: bad permutation', () => {
    const { x } = setup();
    const e = thrown(() => x.transpose([0, 0])); // @transpose
    expect(e.message).toMatch(/^transpose: perm \[0,0\] is not a permutation of the 2 axes/);
    expect(e.message).toContain('x [N, 3]');
    expect(e.message).toContain(at('transpose'));
    expect(thrown(() => x.transpose([1, 0, 2])).message).toMatch(/^transpose: perm \[1,0,2\] is not a permutation of the 2 axes/);
  });

  it('sum and mean: axis out of range, repeated axes', () => {
    const { x } = setup();
    const e = thrown(() => x.sum(2)); // @sum
    expect(e.message).toMatch(/^sum: axis 2 is out of range for rank 2/);
    expect(e.message).toContain('x [N, 3]');
    expect(e.message).toContain(at('sum'));
    const m = thrown(() => x.mean([-1, 1])); // @mean
    expect(m.message).toMatch(/^mean: axes \[-1,1\] repeat an axis/);
    expect(m.message).toContain(at('mean'));
  });

  it('broadcastTo: a shape the tensor cannot broadcast to', () => {
    const { x } = setup();
    const e = thrown(() => x.broadcastTo(['N', 4])); // @broadcastTo
    expect(e.message).toMatch(/^broadcastTo: cannot broadcast: axis -1 \(counting from the end, as numpy aligns shapes\) is 3 in one operand and 4 in another/);
    expect(e.message).toContain(at('broadcastTo'));
  });
});

describe('compile checks the dims binding', () => {
  const build = () => {
    const g = graph('dims');
    const x = g.input('x', ['N', 'D']); // @decl-x
    const w = g.param('w', ['D', 2]);
    const loss = x.matmul(w).sum().named('loss');
    return { g, x, w, loss };
  };

  it('an unbound dim names the dim, the node and where it was declared', async () => {
    const { g, loss } = build();
    const e = await rejected(() => compile(g, { loss, dims: { D: 3 } }));
    expect(e.message).toMatch(/^compile: dim 'N' is unbound; 'x' has shape \[N, D\]/);
    expect(e.message).toContain('dims: { N: ');
    expect(e.message).toContain(at('decl-x'));
    // emit (the CLI's path) says the same.
    expect(thrown(() => emit(g, { loss, dims: { D: 3 } })).message).toContain(at('decl-x'));
  });

  it.each([
    [0, 'got 0'],
    [-1, 'got -1'],
    [2.5, 'got 2.5'],
    ['4', 'got "4"'],
    [Number.NaN, 'got NaN'],
    [Number.POSITIVE_INFINITY, 'got Infinity'],
  ])('a dim bound to %s is rejected', async (value, shown) => {
    const { g, loss } = build();
    const e = await rejected(() => compile(g, { loss, dims: { N: value as number, D: 3 } }));
    expect(e.message).toContain(`compile: dim 'N' must be bound to a positive integer, ${shown}`);
  });

  it('a bound dim that no shape uses is rejected, listing the graph dims', async () => {
    const { g, loss } = build();
    const e = await rejected(() => compile(g, { loss, dims: { N: 4, D: 3, H: 8 } }));
    expect(e.message).toContain("compile: dim 'H' is bound but no shape uses it");
    expect(e.message).toContain("(the graph's dims: N, D)");
  });

  it('a dim of the graph that this compile does not need may be bound; the listing covers the whole graph', async () => {
    const { g, loss } = build();
    g.input('labels', ['M', 2]); // in the graph, not used by this loss
    const model = await compile(g, { loss, dims: { N: 2, D: 3, M: 5 }, dtype: 'f64' });
    model.params.w!.set([1, 0, 0, 1, 1, 1]);
    expect(model.forward({ x: [1, 2, 3, 4, 5, 6] })).toBe(1 + 2 + 3 + 3 + 4 + 5 + 6 + 6);
    const e = await rejected(() => compile(g, { loss, dims: { N: 2, D: 3, K: 5 } }));
    expect(e.message).toContain("compile: dim 'K' is bound but no shape uses it (the graph's dims: N, D, M)");
  });

  it('a graph without symbols says so', async () => {
    const g = graph('fixed');
    const loss = g.param('w', [2]).sum();
    const e = await rejected(() => compile(g, { loss, dims: { N: 4 } }));
    expect(e.message).toContain("(the graph's dims: none)");
  });

  it('a dim named like an Object.prototype property is refused where it is declared', () => {
    const g = graph('proto');
    const e = thrown(() => g.input('x', ['toString', 3])); // @decl-proto
    expect(e.message).toMatch(/^input\('x'\): dimension 'toString' is a property every JavaScript object inherits/);
    expect(e.message).toContain(at('decl-proto'));
  });

  it('the same binding compiles once it is right', async () => {
    const { g, loss } = build();
    const model = await compile(g, { loss, dims: { N: 4, D: 3 }, dtype: 'f64' });
    expect(model.params.w!.length).toBe(6);
  });
});

describe('the loss must be a scalar', () => {
  const build = () => {
    const g = graph('nonscalar');
    const x = g.input('x', ['N', 3]);
    const w = g.param('w', [3]);
    return { g, x, w, scores: x.mul(w).named('scores') };
  };

  it('grad names the loss and its shape, at the grad call', () => {
    const { w, scores } = build();
    const e = thrown(() => grad(scores, [w])); // @grad-nonscalar
    expect(e.message).toMatch(/^grad: the loss 'scores' must be a scalar, but its shape is \[N, 3\]/);
    expect(e.message).toContain('.sum()');
    expect(e.message).toContain(at('grad-nonscalar'));
  });

  it('compile names the loss and its shape, at the compile call', async () => {
    const { g, scores } = build();
    const e = await rejected(() => compile(g, { loss: scores, dims: { N: 2 } })); // @compile-nonscalar
    expect(e.message).toMatch(/^compile: the loss 'scores' must be a scalar, but its shape is \[N, 3\]/);
    expect(e.message).toContain(at('compile-nonscalar'));
  });

  it('a [1] tensor is not a scalar either', () => {
    const { g, w } = build();
    const e = thrown(() => grad(w.sum(0, true).named('total'), [w]));
    expect(e.message).toMatch(/^grad: the loss 'total' must be a scalar, but its shape is \[1\]/);
    expect(g.get('grad_w')).toBeUndefined();
  });
});

describe('a param the loss does not depend on', () => {
  it('gets zeros of its shape, through grad and through compile', async () => {
    const g = graph('unused');
    const x = g.input('x', ['N', 3]);
    const w = g.param('w', [3, 1], { init: [1, 2, 3] });
    const u = g.param('u', ['N', 2], { init: 'randn' });
    const loss = x.matmul(w).sum().named('loss');
    const [gu] = grad(loss, [u]);
    expect(gu).toBe(g.get('grad_u'));
    expect(gu!.shape).toEqual(['N', 2]);

    const model = await compile(g, { loss, dims: { N: 4 }, dtype: 'f64' });
    expect(Object.keys(model.grads).sort()).toEqual(['u', 'w']);
    const before = Array.from(model.params.u!);
    expect(before.some((v) => v !== 0)).toBe(true); // randn init, so a zero step really is visible
    // Poison the grad buffer so the check sees what backward writes, not the initial zeros.
    model.grads.u!.fill(7);
    model.step({ x: [1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1] }, 0.5);
    expect(Array.from(model.grads.u!)).toEqual(new Array(8).fill(0));
    expect(Array.from(model.params.u!)).toEqual(before);
    // …while the used param did get a gradient: d/dw sum(x·w) = column sums of x.
    expect(Array.from(model.grads.w!)).toEqual([2, 2, 2]);
  });
});

describe('names must be identifiers the generated code can use', () => {
  const notIdentifiers = ['x; process.exit(1)', '*/ evil() /*', '1x', '', 'a-b', 'x y', 'ñ'];
  const moduleNames = ['params', 'forward', 'backward', 'step', 'i0', 'i12', 'sigmoid', 'check_feeds', 'return', 'class', 'Number', 'WebAssembly'];
  const inherited = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];

  it.each(notIdentifiers)('%j is not an identifier', (name) => {
    const g = graph('names');
    for (const e of [thrown(() => g.input(name, [2])), thrown(() => g.param(name, [2])), thrown(() => g.param('w', [2]).add(1).named(name))]) {
      expect(e.message).toContain(`name ${JSON.stringify(name)} is not an identifier`);
      expect(e.message).toContain('test/front/errors.test.ts:');
    }
    expect(g.nodes.filter((n) => n.op === 'input')).toEqual([]);
  });

  it.each(moduleNames)('%s, which the generated module uses itself, is a fine name: only the code calls it otherwise', async (name) => {
    const g = graph('names');
    const x = g.input(name, [2]);
    const w = g.param(`${name}_w`, [2], { init: [1, 2] });
    const model = await compile(g, { loss: x.mul(w).sum(), wrt: [w, x] });
    expect(model.forward({ [name]: [3, 4] })).toBe(11);
    model.backward();
    expect(Array.from(model.grads[name]!)).toEqual([1, 2]);
    expect(model.inputs.map((i) => i.name)).toEqual([name]);
  });

  it.each(inherited)('%s, which every object inherits, is rejected', (name) => {
    const g = graph('names');
    const e = thrown(() => g.input(name, [1]));
    expect(e.message).toContain(`input('${name}'): name '${name}' is a property every JavaScript object inherits`);
  });

  it('a name that is not a string is rejected', () => {
    const g = graph('names');
    expect(thrown(() => g.input(42 as unknown as string, [2])).message).toContain('name 42 is not an identifier');
  });

  it('duplicate names are rejected, pointing at the first declaration', () => {
    const g = graph('dupes');
    g.input('x', [2]); // @first-x
    const e = thrown(() => g.input('x', [3])); // @second-x
    expect(e.message).toMatch(/^input\('x'\): the name is already used by the input created at /);
    expect(e.message).toContain(at('first-x'));
    expect(e.message).toContain(at('second-x'));
    const p = thrown(() => g.param('x', [2]));
    expect(p.message).toMatch(/^param\('x'\): the name is already used by the input created at /);
    g.param('w', [2]);
    expect(thrown(() => g.input('w', [2])).message).toMatch(/^input\('w'\): the name is already used by the param created at /);
  });

  it('.named() may not take a name in use', () => {
    const g = graph('named');
    const x = g.input('x', [2]); // @named-owner
    const y = x.mul(2).named('y');
    const e = thrown(() => y.add(1).named('x')); // @named-clash
    expect(e.message).toMatch(/^name 'x' is already used by input node created at /);
    expect(e.message).toContain(at('named-owner'));
    expect(e.message).toContain(at('named-clash'));
    expect(thrown(() => x.sum().named('y')).message).toMatch(/^name 'y' is already used by mul node/);
    // Renaming a node to its own name is fine, and a failed rename leaves the old name.
    expect(y.named('y').name).toBe('y');
    expect(g.get('y')).toBe(y);
    expect(g.get('x')).toBe(x);
  });

  it('compile outputs keys are checked too', async () => {
    const g = graph('outputs');
    const x = g.input('x', [2]);
    const e = await rejected(() => compile(g, { outputs: { 'not ok': x.mul(2) } }));
    expect(e.message).toContain('compile outputs: name "not ok" is not an identifier');
  });

  it('graph names are checked', () => {
    expect(thrown(() => graph('my model')).message).toContain('graph(): name "my model" must be letters, digits, _ or -');
  });
});

describe('feeds are checked by the compiled model', () => {
  const build = async () => {
    const g = graph('feeds');
    const x = g.input('x', ['N', 3]);
    const y = g.input('y', ['N', 1]);
    const s = g.input('s', []);
    const w = g.param('w', [3, 1], { init: [0.5, -0.25, 1] });
    const loss = x.matmul(w).sub(y).square().mean().mul(s).named('loss');
    return compile(g, { loss, dims: { N: 4 }, dtype: 'f64' });
  };
  const good = () => ({ x: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], y: [1, 0, 1, 0], s: 1 });

  it('a missing array feed is named', async () => {
    const model = await build();
    const { x: _x, ...rest } = good();
    const e = thrownError(() => model.forward(rest as never));
    expect(e.message).toBe("feed 'x' must be an array of 12 numbers for shape [N, 3] = [4, 3], got nothing");
  });

  it('a feed of the wrong length is named, with both sizes', async () => {
    const model = await build();
    const e = thrownError(() => model.forward({ ...good(), y: [1, 2, 3] }));
    expect(e.message).toBe(
      "feed 'y' has 3 values, but shape [N, 1] = [4, 1] holds 4: that is 3 rows of 1, and N was bound to 4 when the model was compiled (feed batches of 4, or compile with N = 3)",
    );
  });

  it('a missing scalar feed is named', async () => {
    const model = await build();
    const { s: _s, ...rest } = good();
    const e = thrownError(() => model.forward(rest as never));
    expect(e.message).toMatch(/^feed 's' /);
  });

  it('a failed step leaves the params unchanged; a good one changes them', async () => {
    const model = await build();
    const before = Array.from(model.params.w!);
    const { x: _x, ...missing } = good();
    expect(() => model.step(missing as never, 0.1)).toThrow(/feed 'x'/);
    expect(Array.from(model.params.w!)).toEqual(before);
    expect(() => model.step({ ...good(), x: [1, 2] }, 0.1)).toThrow(/feed 'x' has 2 values/);
    expect(Array.from(model.params.w!)).toEqual(before);
    expect(() => model.step({ ...good(), y: new Float64Array(5) }, 0.1)).toThrow(/feed 'y' has 5 values/);
    expect(Array.from(model.params.w!)).toEqual(before);
    // The comparison can see a change: a good step moves w.
    const loss = model.step(good(), 0.01);
    expect(Number.isFinite(loss)).toBe(true);
    expect(Array.from(model.params.w!)).not.toEqual(before);
  });
});

describe('tensors from two graphs', () => {
  const build = () => {
    const g = graph('main');
    const other = graph('other');
    const x = g.input('x', [3]);
    const z = other.input('z', [3]);
    return { g, other, x, z, loss: x.sum().named('loss') };
  };

  it('one op on both is a clear error at the call', () => {
    const { g, x, z } = build();
    const before = g.nodes.length;
    const e = thrown(() => x.add(z)); // @two-graphs
    expect(e.message).toMatch(/^add: 'z' belongs to graph 'other', not 'main'/);
    expect(e.message).toContain(at('two-graphs'));
    expect(g.nodes.length).toBe(before);
    expect(thrown(() => z.mul(x)).message).toMatch(/^mul: 'x' belongs to graph 'main', not 'other'/);
  });

  it('grad and compile reject tensors of another graph', async () => {
    const { g, other, z, loss } = build();
    expect(thrown(() => grad(loss, [z])).message).toMatch(/^grad: 'z' belongs to graph 'other', the loss to 'main'/);
    expect((await rejected(() => compile(other, { loss }))).message).toMatch(/^compile: loss 'loss' belongs to graph 'main', not 'other'/);
    expect((await rejected(() => compile(g, { loss, wrt: [z] }))).message).toMatch(/^compile: wrt\[0\] 'z' belongs to graph 'other', not 'main'/);
  });

  it("two graphs of the same name are said to be two, with where each was made (not \"graph 'mlp', not 'mlp'\")", async () => {
    const make = () => graph('mlp'); // @one-line
    const [a, b] = [make(), make()];
    const loss = a.input('x', [3]).sum().named('loss');
    const e = await rejected(() => compile(b, { loss }));
    expect(e.message).toMatch(
      /^compile: loss 'loss' belongs to another graph named 'mlp' \(two graphs of the same name, both made at test\/front\/errors\.test\.ts:\d+:\d+: each call of graph\(\) makes a new graph\)/,
    );
    expect(e.message).toContain(`made at ${at('one-line')}`);
    const c = graph('mlp');
    expect(thrown(() => c.input('y', [3]).add(a.input('z', [3]))).message).toMatch(
      /^add: 'z' belongs to another graph named 'mlp' \(two graphs of the same name, made at test\/front\/errors\.test\.ts:\d+:\d+ and test\/front\/errors\.test\.ts:\d+:\d+\)/,
    );
  });
});

describe('other mistakes', () => {
  it('an unknown op is a FlatgradError naming it and the line', () => {
    const g = graph();
    const x = g.input('x', [2]);
    const e = thrown(() => g.apply('nope', [x])); // @unknown
    expect(e.message).toMatch(/^unknown op 'nope'/);
    expect(e.message).toContain(at('unknown'));
  });

  it('a bad dim value points at the compile call', () => {
    const g = graph();
    const x = g.input('x', ['N']);
    const e = thrown(() => emit(g, { loss: x.sum(), dims: { N: 0 } })); // @badDim
    expect(e.message).toMatch(/^compile: dim 'N' must be bound to a positive integer, got 0/);
    expect(e.message).toContain(at('badDim'));
  });
});

describe('the user\'s line, whatever the path', () => {
  it('a model file in a folder with spaces is named whole (the CLI reports its shape error there)', () => {
    const root = mkdtempSync(join(tmpdir(), 'flatgrad space '));
    try {
      const dir = join(root, 'my models');
      mkdirSync(dir);
      const file = join(dir, 'bad model.mjs');
      const index = pathToFileURL(fileURLToPath(new URL('../../src/index.ts', import.meta.url))).href;
      writeFileSync(file, [
        `import { graph } from ${JSON.stringify(index)};`,
        'const g = graph(\'spaced\');',
        'const x = g.input(\'x\', [\'N\', 3]);',
        'const y = x.add(g.param(\'b\', [4]));',
        'export default { graph: g, loss: y.sum() };',
        '',
      ].join('\n'));
      const run = spawnSync(process.execPath, ['bin/flatgrad.js', 'compile', file, '--out', join(root, 'out')], { encoding: 'utf8' });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(`at ${file}:4:13`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
