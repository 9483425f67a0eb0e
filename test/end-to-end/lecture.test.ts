// The lecture's worked examples (test/fixtures/lecture-examples.json; test/fixtures/README.md says where they come from), built with the public API, compiled, run.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compile, type CompileOptions, type Graph, type Model } from '../../src/index.ts';
import addMul from '../../examples/lecture/add_mul.ts';
import sigmoidNeuron from '../../examples/lecture/sigmoid_neuron.ts';
import reluVector from '../../examples/lecture/relu_vector.ts';
import matmulExample from '../../examples/lecture/matmul.ts';

const reference = JSON.parse(readFileSync(new URL('../fixtures/lecture-examples.json', import.meta.url), 'utf8')) as {
  examples: {
    name: string; inputs: Record<string, number | number[] | number[][]>; upstream?: number[] | number[][]; output: number | number[] | number[][];
    intermediates?: Record<string, number>; grads: Record<string, number | number[] | number[][]>;
  }[];
};
const example = (name: string) => reference.examples.find((e) => e.name === name)!;
const flat = (v: number | number[] | number[][]): number[] => (typeof v === 'number' ? [v] : (v as number[][]).flat());

/** A model file's default export: its graph and compile options. */
type Spec = CompileOptions & { readonly graph: Graph };
const specs: Record<string, Spec> = { add_mul: addMul, sigmoid_neuron: sigmoidNeuron, relu_vector: reluVector, matmul: matmulExample };

/** Params take the example's values; everything else is fed. */
function feedsFor(model: Model, ex: ReturnType<typeof example>): Record<string, number | number[]> {
  const feeds: Record<string, number | number[]> = {};
  for (const [k, v] of Object.entries(ex.inputs)) {
    if (k in model.params) model.params[k]!.set(flat(v));
    else feeds[k] = typeof v === 'number' ? v : flat(v);
  }
  if (ex.upstream) feeds.upstream = flat(ex.upstream);
  return feeds;
}

describe.each([
  ['f64', false],
  ['f64', true],
  ['f32', false],
  ['f32', true],
] as const)('lecture examples in %s, optimize %s', (dtype, optimize) => {
  const close = (actual: ArrayLike<number>, expected: number[]) => {
    expect(actual.length).toBe(expected.length);
    expected.forEach((e, i) => {
      const a = actual[i]!;
      if (dtype === 'f64') expect(Math.abs(a - e)).toBeLessThanOrEqual(1e-12);
      else expect(Math.abs(a - e)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(e)));
    });
  };

  it.each(Object.keys(specs))('%s: output and gradients equal the reference', async (name) => {
    const { graph, ...options } = specs[name]!;
    const ex = example(name);
    const model = await compile(graph, { ...options, dtype, optimize });
    const loss = model.forward(feedsFor(model, ex));
    model.backward();
    // The scalar examples' output is the loss; the tensor ones' is an op whose upstream gradient is given.
    const outputKey = { relu_vector: 'z', matmul: 'y' }[name];
    close(outputKey ? model.outputs[outputKey]! : [loss], flat(ex.output));
    for (const [k, v] of Object.entries(ex.intermediates ?? {})) if (k in model.outputs) close(model.outputs[k]!, [v]);
    for (const [k, v] of Object.entries(ex.grads)) close(model.grads[k]!, flat(v));
  });
});

describe('the sigmoid neuron reads like the lecture', () => {
  it('emits the lecture flat code, statement for statement', async () => {
    const { graph, ...options } = sigmoidNeuron;
    const { source } = await compile(graph, options);
    for (const line of [
      's0 = w0 * x0;', 's1 = w1 * x1;', 's2 = s0 + s1;', 's3 = s2 + w2;', 'L = sigmoid(s3);',
      'const grad_L = 1;', 'const grad_s3 = grad_L * (1 - L) * L;', 'const grad_w2 = grad_s3;', 'const grad_s2 = grad_s3;', 'const grad_s0 = grad_s2;', 'const grad_s1 = grad_s2;',
      'const grad_w1 = grad_s1 * x1;', 'const grad_x1 = grad_s1 * w1;', 'const grad_w0 = grad_s0 * x0;', 'const grad_x0 = grad_s0 * w0;',
    ]) {
      expect(source).toContain(line);
    }
  });
});
