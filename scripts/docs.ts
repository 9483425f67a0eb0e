// Writes docs/walkthrough.md and its pictures (docs/*.svg): the lecture's examples done with flatgrad, each with
// its model code, its picture, `flatgrad explain`'s steps and its generated code. `npm run docs`; a test fails when
// docs/ drifts from what this writes. The lecture's values come from test/fixtures/lecture-examples.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { drawGraph, emit, explain, mulberry32, randn, type Graph, type Tensor } from '../src/index.ts';
import addMul from '../examples/lecture/add_mul.ts';
import sigmoidNeuron from '../examples/lecture/sigmoid_neuron.ts';
import reluVector from '../examples/lecture/relu_vector.ts';
import matmulExample from '../examples/lecture/matmul.ts';

type Spec = { graph: Graph; loss: Tensor; wrt?: Tensor[]; outputs?: Record<string, Tensor>; optimize?: boolean };
type Example = { name: string; inputs: Record<string, number | number[] | number[][]>; upstream?: number[] | number[][] };

const root = new URL('../', import.meta.url);
const fixtures = JSON.parse(readFileSync(new URL('test/fixtures/lecture-examples.json', root), 'utf8')) as { examples: Example[] };

const flat = (v: number | number[] | number[][]) => (typeof v === 'number' ? v : (v as number[][]).flat());

/** The lecture's example `name`: its feeds and params from the fixture. */
function values(name: string, spec: Spec): { feeds: Record<string, number | number[]>; params: Record<string, number | number[]> } {
  const ex = fixtures.examples.find((e) => e.name === name)!;
  const params = new Set(spec.graph.params().map((p) => p.name));
  const all = Object.entries({ ...ex.inputs, ...(ex.upstream ? { upstream: ex.upstream } : {}) }).map(([k, v]) => [k, flat(v)] as const);
  return { feeds: Object.fromEntries(all.filter(([k]) => !params.has(k))), params: Object.fromEntries(all.filter(([k]) => params.has(k))) };
}

const sections: [title: string, file: string, spec: Spec, intro: string][] = [
  ['f = (x + y)·z', 'add_mul', addMul, 'The lecture\'s first example, with x = −2, y = 5, z = −4: q = x + y = 3, f = q·z = −12.' +
    ' Backwards, the mul gate swaps its operands (df/dz = q = 3, df/dq = z = −4) and the add gate hands −4 to both x and y.'],
  ['The sigmoid neuron', 'sigmoid_neuron', sigmoidNeuron, 'f(w, x) = σ(w0·x0 + w1·x1 + w2) with w0 = 2, x0 = −1, w1 = −3, x1 = −2, w2 = −3: the output is 0.73,' +
    ' the sigmoid gate\'s local gradient (1 − 0.73)·0.73 = 0.20, and the gradients −0.20, 0.39, −0.39, −0.59, 0.20.'],
  ['ReLU on a vector', 'relu_vector', reluVector, 'z = max(0, x) elementwise: the gradient passes where x was positive and stops where it was not.' +
    ' The upstream gradient dL/dz is given as an input: L = Σ z·upstream.'],
  ['A matrix product', 'matmul', matmulExample, 'y = x·w with the upstream dL/dy given: dL/dx = dL/dy · wᵀ and dL/dw = xᵀ · dL/dy, shapes and all.'],
];

/** Every file the walkthrough is made of, by path under the repository's root. */
export async function walkthrough(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const text: string[] = [
    '# Backprop with flatgrad, the lecture\'s examples',
    '',
    '<!-- Written by `npm run docs` (scripts/docs.ts): edit that, not this. -->',
    '',
    'Each example below is a model file in `examples/lecture/`, drawn with `flatgrad graph` (each wire\'s value above it in',
    'green, its gradient below it in red), explained with `flatgrad explain` (every chain-rule step,',
    '`[downstream] = [local] × [upstream]`), and compiled in the readable mode, whose generated code is the lecture\'s',
    'flat code, one statement per gate.',
  ];
  for (const [title, name, spec, intro] of sections) {
    const { graph, loss, wrt, outputs } = spec;
    const { feeds, params } = values(name, spec);
    files.set(`docs/${name}.svg`, await drawGraph(graph, { loss, wrt, feeds, params, optimize: spec.optimize }));
    const { text: steps } = await explain(graph, { loss, wrt, feeds, params });
    const source = emit(graph, { loss, wrt, outputs, optimize: spec.optimize });
    const body = source.slice(source.indexOf('function forward_pass'), source.indexOf('\n  }\n', source.indexOf('function backward_pass')) + 4);
    text.push(
      '', `## ${title}`, '', intro, '',
      '```ts', readFileSync(new URL(`examples/lecture/${name}.ts`, root), 'utf8').trim(), '```', '',
      `![${title}: values above the wires, gradients below](${name}.svg)`, '',
      `\`npx flatgrad explain examples/lecture/${name}.ts --feeds feeds.json\` with ${JSON.stringify({ ...feeds, ...params })}:`, '',
      '```', steps, '```', '',
      `The forward and backward passes flatgrad generates (\`generated/lecture/${name}.ts\`):`, '',
      '```ts', body.trimEnd().split('\n').map((l) => l.replace(/^ {2}/, '')).join('\n'), '```',
    );
  }
  text.push(
    '', '## The two-layer net', '',
    'The lecture\'s 20-line numpy net, `examples/two_layer_net.ts`, compiled in the default (optimizing) mode:',
    '`generated/two_layer_net.ts` is its module, and `npm start` trains it. Its picture and explanation, on a batch of 2 rows',
    '(weights as `createModel({ seed: 1 })` starts):',
  );
  const { default: twoLayer } = await import('../examples/two_layer_net.ts');
  const rng = mulberry32(5);
  const dims = { ...twoLayer.dims, N: 2 };
  const normal = (n: number) => Array.from({ length: n }, () => Number(randn(rng).toFixed(2)));
  const feeds = { x: normal(2 * dims.D_in), y: normal(2 * dims.D_out) };
  const { text: steps } = await explain(twoLayer.graph, { loss: twoLayer.loss, dims, feeds, seed: 1 });
  files.set('docs/two_layer_net.svg', await drawGraph(twoLayer.graph, { loss: twoLayer.loss, dims, feeds, seed: 1 }));
  text.push('', '![The two-layer net: shapes and first values above the wires, gradients below](two_layer_net.svg)', '', '```', steps, '```', '');
  files.set('docs/walkthrough.md', text.join('\n'));
  return files;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  mkdirSync(new URL('docs/', root), { recursive: true });
  for (const [path, content] of await walkthrough()) {
    writeFileSync(new URL(path, root), content);
    console.log(`wrote ${path}`);
  }
}
