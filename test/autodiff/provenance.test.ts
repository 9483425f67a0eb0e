// Provenance in the generated code: every backward statement says which forward gate's chain-rule step it is
// (`// grad of: L = sigmoid(s3), to s3`), as Tangent's `# Grad of:` lines do. autodiff records the steps.
import { describe, expect, it } from 'vitest';
import { compile, emit, grad, graph } from '../../src/index.ts';
import addMul from '../../examples/lecture/add_mul.ts';
import sigmoidNeuron from '../../examples/lecture/sigmoid_neuron.ts';
import reluVector from '../../examples/lecture/relu_vector.ts';
import matmulExample from '../../examples/lecture/matmul.ts';
import twoLayerNet from '../../examples/two_layer_net.ts';

/** The statements of backward_pass, each with the comment on its line or the last one above it (a step's comment heads its statements). */
function backwardStatements(source: string): { line: string; note?: string }[] {
  const body = source.slice(source.indexOf('function backward_pass'), source.indexOf('\n  }\n', source.indexOf('function backward_pass'))).split('\n').slice(1);
  const out: { line: string; note?: string }[] = [];
  let pending: string | undefined;
  for (const raw of body) {
    if (!/^ {4}\S/.test(raw)) continue; // statements of the function's body, not lines inside a loop
    const line = raw.trim();
    if (line.startsWith('// grad of: ')) pending = line.slice('// grad of: '.length);
    else if (/^(const |grad_|gemm_|loop_|matmul\(|for )/.test(line)) {
      out.push({ line, note: /\/\/ grad of: (.*)$/.exec(line)?.[1] ?? pending });
    }
  }
  return out;
}

describe('provenance comments', () => {
  const lectureExamples = [['add_mul', addMul], ['sigmoid_neuron', sigmoidNeuron], ['relu_vector', reluVector], ['matmul', matmulExample]] as const;
  it.each(lectureExamples)('every backward statement of the lecture example %s names its gate', (_, spec) => {
    const { graph: g, ...options } = spec;
    const statements = backwardStatements(emit(g, options)).filter((s) => !/^const grad_\w+ = 1;$/.test(s.line)); // the seed, dL/dL = 1
    expect(statements.length).toBeGreaterThan(2);
    for (const s of statements) expect(s.note, s.line).toMatch(/^\w+ = .+, to \w+$/);
  });

  it('the sigmoid neuron reads like Tangent: each line says which gate and which operand', () => {
    const { graph: g, ...options } = sigmoidNeuron;
    const source = emit(g, options);
    expect(source).toContain('const grad_s3 = grad_L * (1 - L) * L; // grad of: L = sigmoid(s3), to s3');
    expect(source).toContain('const grad_x1 = grad_s1 * w1; // grad of: s1 = w1 * x1, to x1');
    expect(source).toContain('const grad_w2 = grad_s3; // grad of: s3 = s2 + w2, to w2');
  });

  it('the optimized two-layer net keeps them through fusion and folded transposes', () => {
    const { graph: g, ...options } = twoLayerNet;
    const statements = backwardStatements(emit(g, options)).filter((s) => !/^const grad_\w+ = 1;$/.test(s.line));
    for (const s of statements) expect(s.note, s.line).toMatch(/, to .+$/);
    expect(statements.map((s) => s.note)).toContain('y_pred = h · w2, to w2');
    // no comment names a value the code does not have (s0, s3, s4 were fused away)
    const source = emit(g, options);
    for (const comment of source.match(/\/\/ (grad of: |\w+ = ).*$/gm)!) expect(comment).not.toMatch(/\b(s\d+|t\d+)\b/);
    expect(source).toContain('{ // loss = sum(square(y_pred))');
    expect(source).toContain('// grad of: h = sigmoid(x · w1), to x · w1');
  });

  it('a value read by two gates: the copy gate adds what they send back', () => {
    const g = graph('copy');
    const x = g.input('x', []);
    const loss = x.mul(x).add(x).named('loss');
    expect(emit(g, { loss, wrt: [x], optimize: false })).toMatch(/const grad_x = .*; \/\/ grad of: x, read by 2 gates: the copy gate adds what they send back/);
  });

  // Fuzzer, seed 20261207, case 2,777: the gradient of p0 / 1 is a constant, so nothing computes the gate p0 / 1,
  // and the readable module's comment on that step threw (its gate was no node of the program).
  it('a gradient taken with grad() whose gate the program does not compute: the comment writes the gate out', async () => {
    const g = graph('constant_grad');
    const p0 = g.param('p0', []);
    const v1 = grad(p0.div(1), [p0])[0]!;
    const v2 = v1.neg();
    for (const optimize of [false, true]) {
      const options = { loss: v2.mul(1), outputs: { o0: v2 }, wrt: [p0], dtype: 'f64', optimize } as const;
      if (!optimize) expect(emit(g, options)).toContain('grad_p0 = grad_s1 / 1; // grad of: p0 / 1, to p0');
      const model = await compile(g, options);
      expect(model.step({}, 0.1)).toBe(-1);
      expect(model.outputs.o0).toEqual(new Float64Array([-1]));
      expect(model.grads.p0).toEqual(new Float64Array([0]));
    }
    // The same for an operand nothing reads: the input x, which the gradient of h * 3 does not depend on.
    const g2 = graph('unread_operand');
    const h = g2.input('x', []).mul(2).named('h');
    const source = emit(g2, { outputs: { o: grad(h.mul(3), [h])[0]!.neg() }, optimize: false });
    expect(source).toContain('grad_h = grad_s3 * 3; // grad of: (x * 2) * 3, to x * 2');
  });
});
