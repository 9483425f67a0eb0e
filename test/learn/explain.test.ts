// explain() (src/learn/explain.ts): the lecture's chain-rule steps, [downstream] = [local] × [upstream], with the
// lecture's numbers (test/fixtures/lecture-examples.json), the gates' roles, the matrix forms, and the CLI.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emit, explain, graph, type ExplainStep } from '../../src/index.ts';
import addMul from '../../examples/lecture/add_mul.ts';
import sigmoidNeuron from '../../examples/lecture/sigmoid_neuron.ts';
import matmulExample from '../../examples/lecture/matmul.ts';

const reference = JSON.parse(readFileSync(new URL('../fixtures/lecture-examples.json', import.meta.url), 'utf8')) as {
  examples: { name: string; inputs: Record<string, number | number[] | number[][]>; grads: Record<string, number | number[] | number[][]> }[];
};
const example = (name: string) => reference.examples.find((e) => e.name === name)!;
const step = (steps: ExplainStep[], gate: string, input: string) => steps.find((s) => s.gate === gate && s.input === input)!;

describe('explain', () => {
  it("the sigmoid neuron: every step's numbers are the lecture's, the mul gate swapping its operands", async () => {
    const { graph: g, loss, wrt } = sigmoidNeuron;
    const { inputs, grads } = example('sigmoid_neuron');
    const { steps, text } = await explain(g, {
      loss, wrt, feeds: { x0: inputs.x0 as number, x1: inputs.x1 as number }, params: { w0: inputs.w0 as number, w1: inputs.w1 as number, w2: inputs.w2 as number },
    });
    const sigmoid = steps.find((s) => s.op === 'sigmoid')!;
    expect(sigmoid.upstream).toEqual([1]);
    expect(sigmoid.local).toBeCloseTo(0.7310585786300049 * (1 - 0.7310585786300049), 12);
    expect(sigmoid.formula).toBe('(grad_L * (1 - L)) * L');
    const mul0 = steps.find((s) => s.op === 'mul' && s.input === 'w0')!;
    expect(mul0.local).toBe(inputs.x0); // d(w0·x0)/dw0 = x0: the swap
    expect(step(steps, mul0.gate, 'x0').local).toBe(inputs.w0);
    for (const name of ['w0', 'x0', 'w1', 'x1']) {
      const s = steps.find((t) => t.input === name)!;
      expect(s.downstream[0]).toBeCloseTo(grads[name] as number, 12);
      expect(s.downstream[0]).toBeCloseTo(s.local! * s.upstream[0]!, 12);
    }
    expect(steps.find((t) => t.input === 'w2')!.downstream[0]).toBeCloseTo(grads.w2 as number, 12);
    expect(text).toContain('(the mul gate swaps its operands)');
    expect(text).toContain('to x1: grad_s1 * w1    [-0.5898] = [local -3] × [upstream 0.1966]');
  });

  it('f = (x + y)·z: the add gate distributes grad_q = −4 to x and y alike, the mul gate sends z grad_f · q = 3', async () => {
    const { graph: g, loss, wrt } = addMul;
    const { steps, text } = await explain(g, { loss, wrt, feeds: { x: -2, y: 5, z: -4 } });
    expect(step(steps, 'q', 'x')).toMatchObject({ formula: 'grad_q', local: 1, upstream: [-4], downstream: [-4] });
    expect(step(steps, 'q', 'y')).toMatchObject({ formula: 'grad_q', local: 1, upstream: [-4], downstream: [-4] });
    expect(step(steps, 'f', 'z')).toMatchObject({ formula: 'grad_f * q', local: 3, upstream: [1], downstream: [3] });
    expect(text).toContain('(the add gate distributes its gradient)');
  });

  it('the max gate routes, and a value read twice gets the sum of what both gates send back (the copy gate)', async () => {
    const g = graph('route');
    const a = g.input('a', []);
    const b = g.input('b', []);
    const m = a.maximum(b).named('m');
    const loss = m.mul(a).named('loss'); // a is read by two gates
    const { steps, text } = await explain(g, { loss, wrt: [a, b], feeds: { a: 3, b: 2 } });
    expect(step(steps, 'm', 'a').downstream).toEqual([3]); // grad_m = a = 3, all of it to the larger operand
    expect(step(steps, 'm', 'b').downstream).toEqual([0]);
    expect(text).toContain('(the max gate routes its gradient to the larger operand)');
    expect(text).toMatch(/a is read by 2 gates \((loss, m|m, loss)\): the copy gate adds their gradients, grad_a = 6/);
  });

  it("a matmul's steps are the lecture's matrix forms, with shapes: grad_x = grad_y · wᵀ, grad_w = xᵀ · grad_y", async () => {
    const { graph: g, loss, wrt } = matmulExample;
    const { inputs } = example('matmul');
    const flat = (v: unknown) => (v as number[][]).flat();
    const { steps } = await explain(g, { loss, wrt, feeds: { x: flat(inputs.x), w: flat(inputs.w), upstream: new Array(8).fill(1) } });
    expect(step(steps, 'y', 'x')).toMatchObject({ formula: 'grad_y · wᵀ', shapes: '[2, 3] from grad_y [2, 4], w [3, 4]' });
    expect(step(steps, 'y', 'w')).toMatchObject({ formula: 'xᵀ · grad_y', shapes: '[3, 4] from x [2, 3], grad_y [2, 4]' });
  });

  it('explaining changes nothing that is compiled', async () => {
    const g = graph('same');
    const x = g.input('x', [3]);
    const loss = x.mul(g.param('w', [3], { init: [1, 2, 3] })).sigmoid().sum().named('loss');
    const before = emit(g, { loss });
    await explain(g, { loss, feeds: { x: [1, 2, 3] } });
    expect(emit(g, { loss })).toBe(before);
  });

  it('flatgrad explain prints the steps of a model file; a model without a loss is an error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flatgrad-explain-'));
    writeFileSync(join(dir, 'feeds.json'), '{ "x": -2, "y": 5, "z": -4 }');
    const run = spawnSync(process.execPath, ['bin/flatgrad.js', 'explain', 'examples/lecture/add_mul.ts', '--feeds', join(dir, 'feeds.json')], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('to z: grad_f * q    [3] = [local 3] × [upstream 1]');
    writeFileSync(join(dir, 'model.mts'), "import { graph } from '" + join(process.cwd(), 'src/index.ts') + "';\n" +
      "const g = graph('noloss');\nconst x = g.input('x', [2]);\nexport default { graph: g, outputs: { y: x.relu() } };\n");
    const none = spawnSync(process.execPath, ['bin/flatgrad.js', 'explain', join(dir, 'model.mts')], { encoding: 'utf8' });
    expect(none.status).toBe(1);
    expect(none.stderr).toContain('has no loss to backpropagate from');
    // the same file as .ts outside an ES-module package loads as CommonJS: the error says what to do
    writeFileSync(join(dir, 'model.ts'), readFileSync(join(dir, 'model.mts'), 'utf8'));
    const cjs = spawnSync(process.execPath, ['bin/flatgrad.js', 'explain', join(dir, 'model.ts')], { encoding: 'utf8' });
    expect(cjs.status).toBe(1);
    expect(cjs.stderr).toMatch(/cannot load model file .*model\.ts'.*name it \.mts, or put it in a package whose package\.json says "type": "module"/);
  });
});
