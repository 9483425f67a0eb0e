// Every shader flatgrad emits compiles and validates on Dawn's null adapter, which needs no driver: the lecture
// examples, the two-layer net and an MLP under every optimizer, every registry op and fuzzed graphs. And what
// compile says without an adapter. test/webgpu/webgpu.test.ts checks the values on a real adapter.
import { describe, expect, it } from 'vitest';
import { allComposites, allOps, compile, graph, mulberry32 } from '../../src/index.ts';
import { deviceOf } from '../../src/runtime/webgpu.ts';
import twoLayerNet from '../../examples/two_layer_net.ts';
import addMul from '../../examples/lecture/add_mul.ts';
import { buildCase, recipeFromSeed } from '../fuzz/graphs.ts';
import { rejected } from '../support/helpers.ts';
import { lecture, mlp, nullDevice, optimizers, randomFeeds, recording, validationErrors, type Spec } from '../support/webgpu.ts';

describe('every emitted shader compiles and validates on Dawn (the null adapter: no driver needed)', () => {
  /** Compiles on the null device, runs forward, backward and a step, and returns every message and validation error. */
  async function problems(spec: Spec, options: object = {}): Promise<string[]> {
    const { device, modules } = recording(await nullDevice());
    const errors = await validationErrors(device, async () => {
      const model = await compile(spec.graph, { ...spec, ...options, target: 'webgpu', device });
      const feeds = randomFeeds(model.inputs, mulberry32(1));
      model.forward(feeds);
      if (spec.loss) {
        model.backward();
        model.step(feeds, 0.01);
      }
      await device.queue.onSubmittedWorkDone(); // (not sync(): buffers read back from the null adapter hold garbage)
      model.dispose();
    });
    expect(modules).toHaveLength(1);
    const messages = (await modules[0]!.getCompilationInfo()).messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`);
    return [...messages, ...errors];
  }

  it.each(Object.keys(lecture))('the lecture example %s', async (name) => {
    expect(await problems(lecture[name]!)).toEqual([]);
  });

  it.each(optimizers.map((o) => [JSON.stringify(o), o] as const))('the two-layer net and an MLP with %s', async (_, optimizer) => {
    expect(await problems(twoLayerNet, { optimizer })).toEqual([]);
    expect(await problems(mlp(), { optimizer })).toEqual([]);
  });

  it.each([...allOps(), ...allComposites()].map((op) => [op.name, op] as const))('the op %s', async (name, op) => {
    const g = graph(`shader_${name}`);
    const out = op.sample(g, mulberry32(99));
    expect(await problems({ graph: g, loss: out.sum(), outputs: { out } })).toEqual([]);
  });

  it('40 fuzzed graphs', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const c = buildCase(recipeFromSeed(seed));
      expect(await problems({ graph: c.graph, loss: c.loss, wrt: c.wrt, outputs: c.outputs, dims: c.dims }), c.code).toEqual([]);
    }
  }, 60_000);
});

it("a WebGPU model's inputs are what a CPU module's FEEDS say (the WebGPU module keeps its own)", async () => {
  const g = graph('two_tables_gpu');
  const ids = g.input('ids', ['N'], 'i32');
  const loss = g.param('a', [3, 2]).gather(ids).add(g.param('b', [5, 2]).gather(ids)).sum().add(g.input('x', [2]).sum());
  const gpu = await compile(g, { loss, dims: { N: 4 }, target: 'webgpu', device: await nullDevice() });
  expect(gpu.inputs).toEqual([{ name: 'ids', shape: [4], about: '[N] = [4]', batch: 'N', integer: true, bound: 3 }, { name: 'x', shape: [2], about: '[2]', batch: '', integer: false, bound: 0 }]);
  expect((await compile(g, { loss, dims: { N: 4 } })).inputs).toEqual(gpu.inputs);
  gpu.dispose();
});

describe('without a WebGPU adapter', () => {
  it('compile says what is missing and how to get it, and does not hang', async () => {
    const e = await rejected(() => deviceOf({ requestAdapter: async () => null } as unknown as GPU, 'here'));
    expect(e.message).toMatch(/found no GPU adapter/);
    expect(e.message).toMatch(/Vulkan driver/);
    expect(e.message).toMatch(/scripts\/install-vulkan\.sh/);
  });

  it('a device that is not a GPUDevice is named', async () => {
    const { graph: g, ...options } = addMul;
    const e = await rejected(() => compile(g, { ...options, target: 'webgpu', device: {} as GPUDevice }));
    expect(e.message).toMatch(/createModel needs a GPUDevice/);
  });

  it('f64 and checkFinite: true are refused for the WebGPU target, with what to do instead', async () => {
    const { graph: g, ...options } = addMul;
    expect((await rejected(() => compile(g, { ...options, target: 'webgpu', dtype: 'f64' }))).message).toMatch(/computes in f32/);
    expect((await rejected(() => compile(g, { ...options, target: 'webgpu', checkFinite: true }))).message).toMatch(/runs on the CPU only/);
  });
});
