// Convolution and pooling on WebGPU (lavapipe here): a one-group conv and its two gradients as implicit GEMMs in
// 16 × 16 tiles, a grouped one and pooling as one invocation per element written. Against NumPy's naive layers
// (test/fixtures/conv/, test/fixtures/pool/) and against the CPU's Wasm kernels on the MNIST convnet.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { compile, graph, mulberry32 } from '../../src/index.ts';
import mnistConvnet from '../../examples/mnist_convnet.ts';
import { describeOnGpu, randomFeeds, relativeError } from '../support/webgpu.ts';

interface Tensor { shape: number[]; values: number[] }
const convCases = (JSON.parse(readFileSync(new URL('../fixtures/conv/reference.json', import.meta.url), 'utf8')) as {
  cases: { name: string; stride: [number, number]; padding: [number, number]; dilation: [number, number]; groups: number; x: Tensor; w: Tensor; out: Tensor; dout: Tensor; dx: Tensor; dw: Tensor }[];
}).cases;
type Pair = [number, number];
const poolCases = (JSON.parse(readFileSync(new URL('../fixtures/pool/reference.json', import.meta.url), 'utf8')) as {
  cases: { name: string; op: 'max' | 'avg'; kernel: Pair; stride: Pair; padding: Pair; dilation: Pair; countIncludePad: boolean; x: Tensor; out: Tensor; dout: Tensor; dx: Tensor }[];
}).cases;
/** The largest difference, relative to the value's size where it exceeds 1. */
const worst = (got: ArrayLike<number>, want: readonly number[]) => Math.max(...want.map((v, i) => Math.abs(got[i]! - v) / Math.max(1, Math.abs(v))));

describeOnGpu('convolution and pooling on WebGPU', (device) => {
  // One graph holds every fixture (a compile on lavapipe takes seconds): case k's params x_k, w_k and output out_k.
  it('every conv2d fixture: NumPy\'s output and both gradients, one-group ones as implicit GEMMs', async () => {
    const g = graph('convs');
    const outs = convCases.map((c, k) => {
      const x = g.param(`x_${k}`, c.x.shape, { init: c.x.values });
      const w = g.param(`w_${k}`, c.w.shape, { init: c.w.values });
      return x.conv2d(w, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups }).named(`out_${k}`);
    });
    const loss = outs.map((o, k) => o.mul(g.input(`dout_${k}`, convCases[k]!.dout.shape)).sum()).reduce((a, b) => a.add(b));
    const model = await compile(g, { loss, outputs: Object.fromEntries(outs.map((o) => [o.name, o])), target: 'webgpu', device });
    expect(model.source).toContain('an implicit GEMM in 16 × 16 tiles');
    model.forward(Object.fromEntries(convCases.map((c, k) => [`dout_${k}`, c.dout.values])));
    model.backward();
    for (const [k, c] of convCases.entries()) {
      expect(worst(await model.read(`out_${k}`, 'outputs'), c.out.values), `${c.name}: out`).toBeLessThan(1e-5);
      expect(worst(await model.read(`x_${k}`, 'grads'), c.dx.values), `${c.name}: dx`).toBeLessThan(1e-5);
      expect(worst(await model.read(`w_${k}`, 'grads'), c.dw.values), `${c.name}: dw`).toBeLessThan(1e-5);
    }
    model.dispose();
  });

  it('every pooling fixture: NumPy\'s pool and gradient', async () => {
    const g = graph('pools');
    const outs = poolCases.map((c, k) => {
      const x = g.param(`x_${k}`, c.x.shape, { init: c.x.values });
      const { kernel, stride, padding } = c;
      const out = c.op === 'max' ? x.maxPool2d({ kernel, stride, padding, dilation: c.dilation }) : x.avgPool2d({ kernel, stride, padding, countIncludePad: c.countIncludePad });
      return out.named(`out_${k}`);
    });
    const loss = outs.map((o, k) => o.mul(g.input(`dout_${k}`, poolCases[k]!.out.shape)).sum()).reduce((a, b) => a.add(b));
    const model = await compile(g, { loss, outputs: Object.fromEntries(outs.map((o) => [o.name, o])), target: 'webgpu', device });
    model.forward(Object.fromEntries(poolCases.map((c, k) => [`dout_${k}`, c.dout.values])));
    model.backward();
    for (const [k, c] of poolCases.entries()) {
      expect(worst(await model.read(`out_${k}`, 'outputs'), c.out.values), `${c.name}: out`).toBeLessThan(1e-5);
      expect(worst(await model.read(`x_${k}`, 'grads'), c.dx.values), `${c.name}: dx`).toBeLessThan(1e-5);
    }
    model.dispose();
  });

  it('a NaN in a max pool\'s window wins, as on the CPU: the pool is NaN and the gradient goes to it (a driver may fold x != x: NaN is told by its bits)', async () => {
    const g = graph('nan_pool');
    const x = g.param('x', [1, 1, 2, 4], { init: [-1, 2, 5, 1, 0, 3, 4, 2] });
    const out = x.mul(g.input('mask', [1, 1, 2, 4])).maxPool2d({ kernel: 2 }).named('out');
    const model = await compile(g, { loss: out.sum(), outputs: { out }, target: 'webgpu', device });
    model.forward({ mask: [1, NaN, 1, 1, 1, 1, 1, 1] });
    model.backward();
    const pooled = await model.read('out', 'outputs');
    expect(Number.isNaN(pooled[0]!)).toBe(true);
    expect(pooled[1]).toBe(5);
    expect(Array.from(await model.read('x', 'grads')).map((v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual([0, 'NaN', 1, 0, 0, 0, 0, 0]);
    model.dispose();
  });

  it('the MNIST convnet: a step\'s loss and every gradient agree with the CPU\'s Wasm kernels (f32, relative 1e-4), from the same seeded init', async () => {
    const { graph: g, ...options } = mnistConvnet;
    const spec = { ...options, dims: { N: 8 }, optimizer: { sgd: {} } };
    const cpu = await compile(g, { ...spec, seed: 4 });
    const gpu = await compile(g, { ...spec, seed: 4, target: 'webgpu', device });
    const feeds = randomFeeds(cpu.inputs, mulberry32(9));
    const loss = cpu.forward(feeds);
    cpu.backward();
    gpu.forward(feeds);
    gpu.backward();
    expect(relativeError([await gpu.loss()], [loss])).toBeLessThan(1e-4);
    for (const k of Object.keys(cpu.grads)) expect(relativeError(await gpu.read(k, 'grads'), cpu.grads[k]!), `grad_${k}`).toBeLessThan(1e-4);
    gpu.dispose();
    cpu.dispose();
  });
});
