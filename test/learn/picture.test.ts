// The lecture's pictures (src/learn/picture.ts): the sigmoid neuron and f = (x + y)·z drawn with the slides' values
// above each wire and gradients below it, laid out by Graphviz (WebAssembly); DOT that Graphviz parses; the CLI's
// `flatgrad graph` and its errors; drawing changes nothing that is compiled.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { instance } from '@viz-js/viz';
import { describe, expect, it } from 'vitest';
import { drawGraph, emit, graph } from '../../src/index.ts';
import { readFeedsFile } from '../../src/cli/model-file.ts';
import addMul from '../../examples/lecture/add_mul.ts';
import sigmoidNeuron from '../../examples/lecture/sigmoid_neuron.ts';
import reluVector from '../../examples/lecture/relu_vector.ts';
import twoLayerNet from '../../examples/two_layer_net.ts';

/** The forward value and gradient written on the wire from `from` into the gate `to` (by their labels) in DOT. */
function wire(dot: string, from: string, gate: string, nth = 0): [string, string] {
  const id = (label: string) => [...dot.matchAll(new RegExp(`^ {2}(n\\d+) \\[[^\\]]*label=${JSON.stringify(label).replace(/[+*]/g, '\\$&')}`, 'gm'))].map((m) => m[1]!);
  const sources = id(from);
  const targets = id(gate);
  for (const s of sources) {
    const edges = [...dot.matchAll(new RegExp(`^ {2}${s} -> (n\\d+|out_n\\d+) \\[label=<(?:\\w+<br/>)?<font color="darkgreen">([^<]*)</font>(?:<br/><font color="red">([^<]*)</font>)?>\\];`, 'gm'))];
    const hits = edges.filter((e) => targets.includes(e[1]!) || e[1] === `out_${s}`);
    if (hits[nth]) return [hits[nth][2]!, hits[nth][3] ?? ''];
  }
  throw new Error(`no wire from ${from} into ${gate} in\n${dot}`);
}

describe('drawGraph: the lecture\'s pictures', () => {
  it('the sigmoid neuron: every gate, and the slides\' values above and gradients below each wire', async () => {
    const { graph: g, ...options } = sigmoidNeuron;
    const dot = await drawGraph(g, { ...options, feeds: { x0: -1, x1: -2 }, format: 'dot' });
    expect(wire(dot, 'w0', '*')).toEqual(['2.00', '-0.20']);
    expect(wire(dot, 'x0', '*')).toEqual(['-1.00', '0.39']);
    expect(wire(dot, 'w1', '*')).toEqual(['-3.00', '-0.39']);
    expect(wire(dot, 'x1', '*')).toEqual(['-2.00', '-0.59']);
    expect(wire(dot, 'w2', '+')).toEqual(['-3.00', '0.20']);
    expect(wire(dot, '+', 'sigmoid')).toEqual(['1.00', '0.20']);
    expect(dot).toMatch(/-> out_n\d+ \[label=<<font color="darkgreen">0\.73<\/font><br\/><font color="red">1\.00<\/font>>\]/);
    const svg = await drawGraph(g, { ...options, feeds: { x0: -1, x1: -2 } });
    expect(svg).toMatch(/^<\?xml|^<svg/);
    const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!.replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c))));
    for (const label of ['w0', 'x0', 'w1', 'x1', 'w2', '*', '+', 'sigmoid', 'L', '0.73', '1.00', '0.20', '-0.20', '0.39', '-0.39', '-0.59', '6.00', '4.00']) expect(texts).toContain(label);
  });

  it('f = (x + y)·z with x = −2, y = 5, z = −4: the add gate distributes, the mul gate swaps', async () => {
    const { graph: g, ...options } = addMul;
    const dot = await drawGraph(g, { ...options, feeds: { x: -2, y: 5, z: -4 }, format: 'dot' });
    expect(wire(dot, 'x', '+')).toEqual(['-2.00', '-4.00']);
    expect(wire(dot, 'y', '+')).toEqual(['5.00', '-4.00']);
    expect(wire(dot, 'z', '*')).toEqual(['-4.00', '3.00']);
    expect(wire(dot, '+', '*')).toEqual(['3.00', '-4.00']);
  });

  it('tensors show their shape and first values; the DOT parses in Graphviz with no warning', async () => {
    const { graph: g, ...options } = reluVector;
    const dot = await drawGraph(g, { ...options, feeds: { x: [1, -2, 3, -1], upstream: [4, 5, 6, 7] }, format: 'dot' });
    expect(wire(dot, 'x', 'relu')).toEqual(['[4] 1.00 -2.00 3.00 ...', '[4] 4.00 0.00 6.00 ...']);
    const result = (await instance()).render(dot, { format: 'svg' });
    expect(result.errors).toEqual([]);
    expect(result.status).toBe('success');
  });

  it('the optimized two-layer net: its fused kernels outlined, named as the generated code names them', async () => {
    const { graph: g, ...options } = twoLayerNet;
    const { N, D_in, D_out } = options.dims;
    const dot = await drawGraph(g, { ...options, feeds: { x: new Array(N * D_in).fill(0.5), y: new Array(N * D_out).fill(1) }, format: 'dot' });
    const clusters = [...dot.matchAll(/subgraph cluster_\d+ \{ label="(\w+)"/g)].map((m) => m[1]!);
    expect(clusters).toEqual(expect.arrayContaining(['gemm_64x1000x100', 'loop_h', 'gemm_64x100x10']));
    // every name is a kernel's in the generated code: the Wasm kernels' on the CPU, the WGSL entry points on WebGPU
    const source = readFileSync('generated/two_layer_net.ts', 'utf8') + readFileSync('generated/two_layer_net.webgpu.ts', 'utf8');
    for (const name of clusters) expect(source).toMatch(new RegExp(`\\b${name}\\(`));
    expect((await instance()).render(dot, { format: 'svg' }).errors).toEqual([]);
  });

  it('a matmul that adds the bias and applies relu as it stores: its box holds the + and relu it fuses, and the wire out says h', async () => {
    const g = graph('mlp');
    const x = g.input('x', [2, 2]);
    const h = x.matmul(g.param('w', [2, 4], { init: [1, -1, 0, 2, 0.5, 1, -2, 0] })).add(g.param('b', [4], { init: [0, 1, 2, -9] })).relu().named('h');
    const loss = h.sum().named('loss');
    const dot = await drawGraph(g, { loss, feeds: { x: [1, 2, 3, 4] }, format: 'dot' });
    const ids = (label: string) => [...dot.matchAll(new RegExp(`^ {2}(n\\d+) \\[shape=circle[^\\]]*label="${label}"`, 'gm'))].map((m) => m[1]!);
    const [matmul, add, relu, sum] = [ids('matmul'), ids('\\+'), ids('relu'), ids('sum')].map((found) => found[0]!);
    expect(dot).toContain(
      `subgraph cluster_0 { label="gemm_2x2x4_bias_relu"; style="rounded,dashed"; color=gray50; fontname="Helvetica"; fontcolor=gray30; fontsize=10; ${matmul}; ${add}; ${relu}; }`,
    );
    expect(dot).toContain(`subgraph cluster_1 { label="sum_loss"; style="rounded,dashed"; color=gray50; fontname="Helvetica"; fontcolor=gray30; fontsize=10; ${sum}; }`);
    // x · w + b = [2, 2, -2, -7; 5, 2, -6, -3]; relu keeps [2, 2, 0, 0; 5, 2, 0, 0]
    expect(dot).toContain(`${relu} -> ${sum} [label=<h<br/><font color="darkgreen">[2x4] 2.00 2.00 0.00 ...</font><br/><font color="red">[2x4] 1.00 1.00 1.00 ...</font>>];`);
    expect(wire(dot, 'relu', 'sum')).toEqual(['[2x4] 2.00 2.00 0.00 ...', '[2x4] 1.00 1.00 1.00 ...']);
    expect((await instance()).render(dot, { format: 'svg' }).errors).toEqual([]);
  });

  it('without feeds: the structure, each wire with its shape (dims bound where given), the kernels outlined when every dim is', async () => {
    const { graph: g, ...options } = twoLayerNet;
    const dot = await drawGraph(g, { ...options, format: 'dot' });
    const shapes = [...dot.matchAll(/^ {2}n\d+ -> (?:out_)?n\d+ \[label=<(?:(\w+)<br\/>)?<font color="gray30">([^<]*)<\/font>>\];$/gm)].map((m) => `${m[1] ?? ''}${m[2]}`);
    expect(shapes).toEqual(['[64x1000]', '[1000x100]', '[64x100]', 'h[64x100]', '[100x10]', 'y_pred[64x10]', '[64x10]', '[64x10]', '[64x10]', 'scalar']);
    expect([...dot.matchAll(/subgraph cluster_\d+ \{ label="(\w+)"/g)].map((m) => m[1]!)).toEqual(['gemm_64x1000x100', 'loop_h', 'gemm_64x100x10', 'loop_y_pred', 'sum_loss']);
    expect(dot).not.toContain('darkgreen');
    // N left unbound: its symbol, and no kernels (their names need every size)
    const s = graph('unbound');
    const h = s.input('x', ['N', 3]).matmul(s.param('w', [3, 'H'])).relu().named('h');
    const unbound = await drawGraph(s, { loss: h.sum().named('loss'), dims: { H: 5 }, format: 'dot' });
    expect(unbound).toMatch(/-> n\d+ \[label=<<font color="gray30">\[Nx3\]<\/font>>\];/);
    expect(unbound).toMatch(/-> n\d+ \[label=<h<br\/><font color="gray30">\[Nx5\]<\/font>>\];/);
    expect(unbound).not.toContain('cluster');
    expect((await instance()).render(unbound, { format: 'svg' }).errors).toEqual([]);
    // feeds given but one missing is still an error
    await expect(drawGraph(g, { ...options, feeds: { x: new Array(64000).fill(0) }, format: 'dot' })).rejects.toThrow(/feeds has no value for the input 'y'/);
  });

  it('drawing changes nothing that is compiled', async () => {
    const g = graph('unchanged');
    const x = g.input('x', [3]);
    const w = g.param('w', [3], { init: [1, 2, 3] });
    const loss = x.mul(w).tanh().sum().named('loss');
    const before = emit(g, { loss });
    await drawGraph(g, { loss, feeds: { x: [0.1, 0.2, 0.3] }, format: 'dot' });
    expect(emit(g, { loss })).toBe(before);
  });
});

describe('flatgrad graph (CLI)', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/flatgrad.js', 'graph', ...args], { encoding: 'utf8' });
  const dir = mkdtempSync(join(tmpdir(), 'flatgrad-graph-'));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  it('writes the SVG (and with --format dot, the DOT) of a model file with a feeds file', () => {
    const feeds = file('feeds.json', '{ "x0": -1, "x1": -2 }');
    const run = cli('examples/lecture/sigmoid_neuron.ts', '--feeds', feeds, '--out', join(dir, 'g.svg'));
    expect(run.stderr).toBe('');
    expect(readFileSync(join(dir, 'g.svg'), 'utf8')).toContain('0.73');
    expect(cli('examples/lecture/sigmoid_neuron.ts', '--feeds', feeds, '--format', 'dot', '--out', join(dir, 'g.dot')).status).toBe(0);
    expect(readFileSync(join(dir, 'g.dot'), 'utf8')).toMatch(/^digraph "sigmoid_neuron" \{/);
  });

  it('without --feeds, the structure; --out - writes the picture to stdout', () => {
    const run = cli('examples/two_layer_net.ts', '--format', 'dot', '--out', '-');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^digraph "two_layer_net" \{\n/);
    expect(run.stdout).toMatch(/-> n\d+ \[label=<h<br\/><font color="gray30">\[64x100\]<\/font>>\];\n/);
    expect(run.stdout).not.toContain('wrote');
    const svg = cli('examples/lecture/sigmoid_neuron.ts', '--out', '-');
    expect(svg.status).toBe(0);
    expect(svg.stdout).toMatch(/<svg[^]*<\/svg>\n$/);
  });

  it('a bad feeds file is an error naming the file and exits 1', () => {
    const run = cli('examples/lecture/sigmoid_neuron.ts', '--feeds', file('bad.json', '{ "x0": -1 }'), '--out', join(dir, 'bad.svg'));
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/flatgrad: drawGraph: the feeds file '.*bad\.json' has no value for the input 'x1'/);
  });

  it.each([
    ['not JSON', 'nope', /the feeds file '.*bad\.json' is not JSON/],
    ['not an object', '[1, 2]', /must hold a JSON object/],
    ['a string value', '{ "x0": "1", "x1": -2 }', /'x0' must be a number or an array of numbers, got "1"/],
    ['a missing feed', '{ "x0": -1 }', /has no value for the input 'x1'/],
    ['an unknown name', '{ "x0": -1, "x1": -2, "q": 1 }', /gives 'q', which graph 'sigmoid_neuron' has no input or param of/],
    ['a mis-shaped feed', '{ "x0": -1, "x1": [1, 2] }', /the feeds file '.*bad\.json': interpret: input 'x1' has 2 values, shape \[\] holds 1/],
  ])('a feeds file with %s is an error naming the file and the feed', async (_, text, message) => {
    const path = file('bad.json', text);
    const { graph: g, ...options } = sigmoidNeuron;
    await expect((async () => drawGraph(g, { ...options, feeds: readFeedsFile(path), source: path, format: 'dot' }))()).rejects.toThrow(message);
  });
});
