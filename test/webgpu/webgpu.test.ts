// The WebGPU target on the machine's adapter (lavapipe here; test/support/webgpu.ts): the compiled models compute what the
// CPU backends compute, train like them step for step, and refuse bad feeds and non-finite steps as they do.
// test/webgpu/webgpu_shaders.test.ts checks every shader on Dawn's null adapter.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { allComposites, allOps, compile, graph, interpret, loadCheckpoint, mulberry32, randn, saveCheckpoint } from '../../src/index.ts';
import twoLayerNet from '../../examples/two_layer_net.ts';
import { webgpuProperty } from '../fuzz/variants.ts';
import { rejected } from '../support/helpers.ts';
import { describeOnGpu, flat, lecture, mlp, optimizers, randomFeeds, reference, relativeError } from '../support/webgpu.ts';

describeOnGpu('WebGPU computes what the CPU computes', (device) => {
  it.each(Object.keys(lecture))('the lecture example %s: output and gradients equal the reference', async (name) => {
    const spec = lecture[name]!;
    const ex = reference.examples.find((e) => e.name === name)!;
    const model = await compile(spec.graph, { ...spec, target: 'webgpu', device });
    const feeds: Record<string, number | number[]> = {};
    for (const [k, v] of Object.entries(ex.inputs)) {
      if (model.names.params.includes(k)) model.write(k, flat(v));
      else feeds[k] = typeof v === 'number' ? v : flat(v);
    }
    if (ex.upstream) feeds.upstream = flat(ex.upstream);
    model.forward(feeds);
    const loss = await model.loss();
    model.backward();
    const outputKey = { relu_vector: 'z', matmul: 'y' }[name];
    const close = (actual: ArrayLike<number>, expected: number[], what: string) => {
      expect(actual.length, what).toBe(expected.length);
      expected.forEach((e, i) => expect(Math.abs(actual[i]! - e), `${what}[${i}]: ${actual[i]} vs ${e}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(e))));
    };
    close(outputKey ? await model.read(outputKey, 'outputs') : [loss], flat(ex.output), 'output');
    for (const [k, v] of Object.entries(ex.grads)) close(await model.read(k, 'grads'), flat(v), `grad_${k}`);
    model.dispose();
  });

  it("the two-layer net's loss and gradients agree with the TypeScript backend (f32, relative 1e-4), from the same seeded init", async () => {
    const { graph: g, ...options } = twoLayerNet;
    const cpu = await compile(g, { ...options, seed: 3, wasm: false });
    const gpu = await compile(g, { ...options, seed: 3, target: 'webgpu', device });
    for (const w of ['w1', 'w2']) expect(Array.from(await gpu.read(w))).toEqual(Array.from(cpu.params[w]!));
    const feeds = randomFeeds(cpu.inputs, mulberry32(7));
    const loss = cpu.forward(feeds);
    cpu.backward();
    gpu.forward(feeds);
    gpu.backward();
    expect(relativeError([await gpu.loss()], [loss])).toBeLessThan(1e-4);
    for (const w of ['w1', 'w2']) expect(relativeError(await gpu.read(w, 'grads'), cpu.grads[w]!), `grad_${w}`).toBeLessThan(1e-4);
    gpu.dispose();
  });

  it('matmuls large enough for the 64 × 64 tiles, in every layout and with the bias/ReLU epilogue, equal the CPU\'s', async () => {
    const g = graph('tiles');
    const x = g.param('x', [260, 70], { init: 'randn' });
    const w = g.param('w', [70, 520], { init: 'randn' });
    const b = g.param('b', [520], { init: 'randn' });
    const h = x.matmul(w).add(b).relu().named('h');
    const u = g.input('u', [520, 130]);
    const out = h.matmul(u).named('out');
    const spec = { loss: out.square().mean(), outputs: { h, out } };
    const cpu = await compile(g, { ...spec, seed: 1, wasm: false });
    const gpu = await compile(g, { ...spec, seed: 1, target: 'webgpu', device });
    expect(gpu.source).toMatch(/in 64 × 64 tiles of 4 × 4 per invocation/);
    for (const layout of ['_tA', '_tB', '_bias_relu']) expect(gpu.source).toMatch(new RegExp(`fn gemm_\\d+x\\d+x\\d+${layout}\\(`));
    const feeds = randomFeeds(cpu.inputs, mulberry32(2));
    cpu.forward(feeds);
    cpu.backward();
    gpu.forward(feeds);
    gpu.backward();
    for (const k of ['h', 'out']) expect(relativeError(await gpu.read(k, 'outputs'), cpu.outputs[k]!), k).toBeLessThan(1e-5);
    for (const k of ['x', 'w', 'b']) expect(relativeError(await gpu.read(k, 'grads'), cpu.grads[k]!), `grad_${k}`).toBeLessThan(1e-5);
    gpu.dispose();
  });

  it.each([...allOps(), ...allComposites()].map((op) => [op.name, op] as const))('the op %s: values and gradients equal the reference interpreter', async (name, op) => {
    const g = graph(`gpu_${name}`);
    const out = op.sample(g, mulberry32(99));
    const model = await compile(g, { loss: out.sum(), outputs: { out }, seed: 5, target: 'webgpu', device });
    const feeds = randomFeeds(model.inputs, mulberry32(3));
    model.forward(feeds);
    model.backward();
    const params = Object.fromEntries(await Promise.all(model.names.params.map(async (k) => [k, Array.from(await model.read(k))] as const)));
    const grads = g.params().map((p) => g.get(`grad_${p.name}`)!);
    const ref = interpret([out, ...grads], { params, feeds: Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, typeof v === 'number' ? Math.fround(v) : v.map(Math.fround)])) });
    const close = (what: string, a: ArrayLike<number>, b: ArrayLike<number>) => {
      expect(a.length).toBe(b.length);
      const worst = Math.max(0, ...Array.from(b, (v, i) => Math.abs(a[i]! - v) / Math.max(1, Math.abs(v))));
      expect(worst, what).toBeLessThanOrEqual(1e-5);
    };
    close('out', await model.read('out', 'outputs'), ref.get(out)!.data);
    for (const [k, p] of g.params().entries()) close(`grad_${p.name}`, await model.read(p.name, 'grads'), ref.get(grads[k]!)!.data);
    model.dispose();
  });

  it.each(optimizers.map((o) => [JSON.stringify(o), o] as const))('an MLP with %s trains step for step like the CPU', async (_, optimizer) => {
    const spec = mlp();
    const cpu = await compile(spec.graph, { ...spec, optimizer, seed: 11, wasm: false });
    const gpu = await compile(spec.graph, { ...spec, optimizer, seed: 11, target: 'webgpu', device });
    const rng = mulberry32(5);
    const x = Array.from({ length: 24 * 20 }, () => randn(rng));
    const labels = Array.from({ length: 24 }, (_, i) => (x[i * 20]! > 0 ? 1 : 0) + (x[i * 20 + 1]! > 0 ? 2 : 0));
    const losses: [number, number][] = [];
    for (let s = 0; s < 30; s++) {
      const expected = cpu.step({ x, labels }, 0.05);
      gpu.step({ x, labels }, 0.05);
      losses.push([await gpu.loss(), expected]);
    }
    for (const [k, [a, b]] of losses.entries()) expect(Math.abs(a - b), `step ${k}: ${a} vs ${b}`).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(b)));
    expect(losses.at(-1)![0]).toBeLessThan(losses[0]![0] * 0.5);
    // thirty steps compound f32 rounding (Adam divides by √v): params to 1e-3 of their scale
    for (const p of gpu.names.params) expect(relativeError(await gpu.read(p), cpu.params[p]!), p).toBeLessThan(1e-3);
    for (const s of gpu.names.state) expect(relativeError(await gpu.read(s, 'state'), cpu.state[s]!), s).toBeLessThan(1e-3);
    gpu.dispose();
  });

  it('a step whose feed holds NaN is refused: params and optimizer state unchanged, loss() names the feed, the next good step trains', async () => {
    const spec = mlp('refuse');
    const gpu = await compile(spec.graph, { ...spec, optimizer: { adam: {} }, seed: 2, target: 'webgpu', device });
    const feeds = randomFeeds(gpu.inputs, mulberry32(1));
    gpu.step(feeds, 0.01);
    await gpu.sync();
    const before = await Promise.all([...gpu.names.params.map((p) => gpu.read(p)), ...gpu.names.state.map((s) => gpu.read(s, 'state'))]);
    const bad = { ...feeds, x: (feeds.x as number[]).map((v, i) => (i === 7 ? NaN : v)) };
    gpu.step(bad, 0.01);
    gpu.step(bad, 0.01);
    const e = await rejected(() => gpu.loss());
    expect(e.message).toMatch(/2 steps were refused, the first because the feed 'x' was not finite/);
    const after = await Promise.all([...gpu.names.params.map((p) => gpu.read(p)), ...gpu.names.state.map((s) => gpu.read(s, 'state'))]);
    expect(after).toEqual(before);
    gpu.step(feeds, 0.01);
    expect(Number.isFinite(await gpu.loss())).toBe(true);
    expect(await gpu.read('w1')).not.toEqual(before[0]);
    expect(Array.from(await gpu.read('step_count', 'state'))).toEqual([2]);
    gpu.dispose();
  });

  it('a step makes no GPU buffers, bind groups or pipelines: all are made once, and a read reuses its staging buffer', async () => {
    const made: string[] = [];
    const counting = new Proxy(device, {
      get(target, key) {
        const v = Reflect.get(target, key, target) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          if (/^create(Buffer|BindGroup|ComputePipeline|ShaderModule)/.test(String(key))) made.push(String(key));
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const spec = mlp('once');
    const gpu = await compile(spec.graph, { ...spec, optimizer: { adam: {} }, seed: 2, target: 'webgpu', device: counting });
    const feeds = randomFeeds(gpu.inputs, mulberry32(1));
    gpu.step(feeds, 0.01);
    await gpu.loss();
    const atStart = made.length;
    expect(made).toContain('createBuffer');
    for (let s = 0; s < 20; s++) gpu.step(feeds, 0.01);
    await gpu.loss();
    expect(made.slice(atStart)).toEqual([]);
    gpu.dispose();
  });

  it('bad feeds are rejected before anything is enqueued, naming the feed', async () => {
    const spec = mlp('feeds');
    const gpu = await compile(spec.graph, { ...spec, seed: 2, target: 'webgpu', device });
    const feeds = randomFeeds(gpu.inputs, mulberry32(1)) as Record<string, number[]>;
    const w1 = await gpu.read('w1');
    expect(() => gpu.step({ ...feeds, x: feeds.x!.slice(1) }, 0.1)).toThrow(/'x'/);
    expect(() => gpu.step({ ...feeds, labels: feeds.labels!.map(() => 9) }, 0.1)).toThrow(/labels/);
    expect(() => gpu.step({ x: feeds.x! } as never, 0.1)).toThrow(/labels/);
    expect(() => gpu.step(feeds, NaN)).toThrow(/learning rate|lr/);
    expect(() => gpu.step(feeds, -0.1)).toThrow('the learning rate must be a finite number ≥ 0, got -0.1 (a negative rate climbs the loss)');
    expect(await gpu.read('w1')).toEqual(w1);
    expect(() => gpu.backward()).toThrow(/forward/);
    gpu.dispose();
  });

  it('step() returns Enqueued, not the loss: taken for a number or a string it throws, saying where the loss is', async () => {
    const spec = mlp('enqueued');
    const gpu = await compile(spec.graph, { ...spec, seed: 2, target: 'webgpu', device });
    const result = gpu.step(randomFeeds(gpu.inputs, mulberry32(1)), 0.1);
    expect(result.enqueued).toBe(true);
    const said = "a WebGPU model's step() enqueues the step and returns at once, before the GPU has its loss: read the loss with await model.loss()";
    expect(() => (result as unknown as number) * 2).toThrow(said);
    expect(() => `loss ${String(result)}`).toThrow(said);
    expect(Number.isFinite(await gpu.loss())).toBe(true);
    gpu.dispose();
  });

  it('read and write name what is wrong; write then read gives the values back; a disposed model says so', async () => {
    const spec = mlp('rw');
    const gpu = await compile(spec.graph, { ...spec, seed: 2, target: 'webgpu', device });
    await expect(gpu.read('w9')).rejects.toThrow(/no param named 'w9' \(params: w1, b1, w2, b2, w3, b3\)/);
    await expect(gpu.read('w1', 'nope' as never)).rejects.toThrow(/from must be/);
    expect(() => gpu.write('w1', [1, 2])).toThrow(/holds 640 values, got 2/);
    expect(() => gpu.write('b1', new Array(32).fill(NaN))).toThrow(/params 'b1'\[0\] is NaN: the values must be finite/);
    expect(() => gpu.write('b1', new Array(32).fill(1e39))).toThrow(/is 1e\+39, beyond float32/);
    const values = Array.from({ length: 32 }, (_, i) => i / 8);
    gpu.write('b1', values);
    expect(Array.from(await gpu.read('b1'))).toEqual(values);
    gpu.dispose();
    expect(() => gpu.forward(randomFeeds(gpu.inputs, mulberry32(1)))).toThrow(/disposed/);
  });

  it('a checkpoint of a WebGPU model restores it, and loads into a CPU model of the same graph', async () => {
    const spec = mlp('ckpt');
    const gpu = await compile(spec.graph, { ...spec, optimizer: { adam: {} }, seed: 2, target: 'webgpu', device });
    const feeds = randomFeeds(gpu.inputs, mulberry32(1));
    for (let s = 0; s < 3; s++) gpu.step(feeds, 0.01);
    const bytes = saveCheckpoint(await gpu.snapshot());
    gpu.step(feeds, 0.01);
    const lossAfter = await gpu.loss();
    const restored = await compile(spec.graph, { ...spec, optimizer: { adam: {} }, seed: 9, target: 'webgpu', device });
    const snapshot = await restored.snapshot();
    loadCheckpoint(snapshot, bytes);
    restored.restore(snapshot);
    restored.step(feeds, 0.01);
    expect(await restored.loss()).toBe(lossAfter);
    const cpu = await compile(spec.graph, { ...spec, optimizer: { adam: {} }, seed: 9, wasm: false });
    loadCheckpoint(cpu, bytes);
    expect(Math.abs(cpu.step(feeds, 0.01) - lossAfter)).toBeLessThan(1e-5 * Math.abs(lossAfter));
    gpu.dispose();
    restored.dispose();
  });

  it('a few dozen fuzzed graphs agree with the f32 TypeScript loops', async () => {
    let compared = 0;
    await fc.assert(webgpuProperty(device, (_, ok) => void (ok && compared++)), { seed: 20261130, numRuns: 36, includeErrorInReport: true });
    expect(compared).toBeGreaterThan(24);
  }, 120_000);
});
