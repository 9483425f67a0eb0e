// Threads (compile option `threads`): large Wasm matmuls split into shares of C's columns (or, narrow, its rows), run by worker threads on
// the model's shared memory while the calling thread computes its own share and waits (Atomics). The numbers do
// not depend on the thread count; a worker that ends is replaced by the calling thread, with a warning.
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { transformSync } from 'esbuild';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { compile, emit, graph, mulberry32, randn, type Model, type Optimizer } from '../../src/index.ts';
import spec from '../../examples/two_layer_net.ts';
import { shareBounds } from '../../src/ir/kernel.ts';

const { graph: g, ...options } = spec;
const rng = mulberry32(1);
const feeds = { x: Float32Array.from({ length: 64 * 1000 }, () => randn(rng)), y: Float32Array.from({ length: 640 }, () => randn(rng)) };
const models: Model[] = [];
afterEach(() => {
  for (const m of models.splice(0)) m.dispose();
  vi.restoreAllMocks();
});

/** A compiled module's createModel, loaded from its source (to ask for more threads than this machine has cores). */
async function load(source: string): Promise<{ createModel(o: object): Model }> {
  return (await import(`data:text/javascript;base64,${Buffer.from(transformSync(source, { loader: 'ts' }).code).toString('base64')}`)) as { createModel(o: object): Model };
}

/** Train `steps` steps on `threads` threads: compiled for that many, created asking for them. */
async function train(threads: number, steps: number, optimizer: Optimizer = { sgd: {} }): Promise<{ model: Model; losses: number[]; source: string }> {
  const compiled = await compile(g, { ...options, seed: 3, threads, optimizer });
  models.push(compiled);
  const model = threads > 1 ? (await load(compiled.source)).createModel({ seed: 3, threads }) : compiled;
  models.push(model);
  const losses = Array.from({ length: steps }, () => model.step(feeds, 1e-4));
  return { model, losses, source: compiled.source };
}

/** End a model's worker without its exit event reaching the model: as in a synchronous loop that never yields. */
async function endSilently(model: Model): Promise<void> {
  const worker = model.workers![0]! as Worker;
  worker.removeAllListeners();
  await worker.terminate();
}

describe('threads', () => {
  it('the two-layer net trains bit for bit alike on 1, 2, 3, 4 and 5 threads (SGD and Adam), its matmuls split into shares of columns and its update into shares of its range', async () => {
    for (const optimizer of [{ sgd: {} }, { adam: {} }] as Optimizer[]) {
      const one = await train(1, 8, optimizer);
      expect(one.source).not.toContain('thread_pool');
      for (const threads of [2, 3, 4, 5]) {
        const many = await train(threads, 8, optimizer);
        expect(many.model.workers).toHaveLength(threads - 1);
        // x·w1 (64×1000 by 1000×100) as blocks of C's 100 columns, a multiple of 4 each, as even as that allows
        const starts = { 2: [0, 52], 3: [0, 36, 68], 4: [0, 28, 52, 76], 5: [0, 20, 40, 60, 80] }[threads]!;
        const shares = starts.map((c0) => `{ fn: \\d+, a: 0, b: ${4 * c0}, c: ${4 * c0}, bias: ${4 * c0} }`).join(', ');
        expect(many.source).toMatch(new RegExp(`const gemm_64x1000x100 = threaded_gemm\\(pool, \\[${shares}\\]`));
        // the update of w1 (10^5 floats; Adam's too, with its three scalars) runs as shares of its range
        expect(many.source).toMatch(/const update_w1 = threaded_loop\(pool, \[\d+(, \d+)+\]/);
        expect(many.losses).toEqual(one.losses);
        for (const name of ['w1', 'w2']) expect(Array.from(many.model.params[name]!)).toEqual(Array.from(one.model.params[name]!));
      }
    }
  });

  it('a matmul too narrow for 16 columns a thread is split by rows, and trains bit for bit alike on 1, 2 and 3 threads', async () => {
    const n = graph('narrow');
    const x = n.input('x', [256, 512]);
    const y = n.input('y', [256, 24]);
    const w = n.param('w', [512, 24]);
    const loss = x.matmul(w).sub(y).square().sum().named('loss');
    const r = mulberry32(2);
    const data = { x: Float32Array.from({ length: 256 * 512 }, () => randn(r)), y: Float32Array.from({ length: 256 * 24 }, () => randn(r)) };
    const run = async (threads: number) => {
      const compiled = await compile(n, { loss, seed: 1, threads });
      models.push(compiled);
      const model = threads > 1 ? (await load(compiled.source)).createModel({ seed: 1, threads }) : compiled;
      models.push(model);
      return { source: compiled.source, losses: Array.from({ length: 4 }, () => model.step(data, 1e-5)), w: Array.from(model.params.w!) };
    };
    const one = await run(1);
    for (const [threads, starts] of [[2, [0, 128]], [3, [0, 88, 172]]] as const) {
      const many = await run(threads);
      // x·w (256×512 by 512×24): shares of C's rows, A's rows with them (512 floats each)
      const shares = starts.map((r0) => `{ fn: \\d+, a: ${4 * 512 * r0}, b: 0, c: ${4 * 24 * r0}, bias: 0 }`).join(', ');
      expect(many.source).toMatch(new RegExp(`const gemm_256x512x24 = threaded_gemm\\(pool, \\[${shares}\\]`));
      expect(many.losses).toEqual(one.losses);
      expect(many.w).toEqual(one.w);
    }
  });

  it('a matmul by a transposed weight, with its bias and ReLU, splits by columns (B\'s rows and the bias with them) and trains bit for bit alike on 1 and 3 threads', async () => {
    const n = graph('transposed_bias');
    const x = n.input('x', [64, 300]);
    const y = n.input('y', [64, 10]);
    const w = n.param('w', [100, 300], { init: 'he' });
    const b = n.param('b', [100], { init: 'zeros' });
    const v = n.param('v', [100, 10], { init: 'he' });
    const loss = x.matmul(w.transpose()).add(b).relu().matmul(v).sub(y).square().sum().named('loss');
    const r = mulberry32(4);
    const data = { x: Float32Array.from({ length: 64 * 300 }, () => randn(r)), y: Float32Array.from({ length: 640 }, () => randn(r)) };
    const run = async (threads: number) => {
      const compiled = await compile(n, { loss, seed: 2, threads });
      models.push(compiled);
      const model = threads > 1 ? (await load(compiled.source)).createModel({ seed: 2, threads }) : compiled;
      models.push(model);
      const losses = Array.from({ length: 4 }, () => model.step(data, 1e-5));
      return { source: compiled.source, losses, params: ['w', 'b', 'v'].map((k) => Array.from(model.params[k]!)) };
    };
    const one = await run(1);
    const three = await run(3);
    // columns 0, 36 and 68 of C: w's rows from there (300 floats each), the bias and C from there
    expect(three.source).toMatch(new RegExp(
      /const gemm_64x300x100_tB_bias_relu = threaded_gemm\(pool, \[\{ fn: \d+, a: 0, b: 0, c: 0, bias: 0 \}, /.source +
      /\{ fn: \d+, a: 0, b: 43200, c: 144, bias: 144 \}, \{ fn: \d+, a: 0, b: 81600, c: 272, bias: 272 \}\]/.source,
    ));
    expect(three.losses).toEqual(one.losses);
    expect(three.params).toEqual(one.params);
  });

  // (The TypeScript loops compute fused loops in f64, so they agree with the Wasm kernels to f32's rounding.)
  it('a convnet (im2col, col2im and the rows split by channels, taps or images) trains bit for bit alike on 1 and 3 threads, and as its TypeScript loops do', async () => {
    const n = graph('convnet_threads');
    const x = n.input('x', [8, 2, 12, 12]);
    const labels = n.input('labels', [8], 'i32');
    const k1 = n.param('k1', [6, 2, 3, 3], { init: 'he' });
    const b1 = n.param('b1', [6], { init: 'zeros' });
    const k2 = n.param('k2', [8, 6, 3, 3], { init: 'he' });
    const w = n.param('w', [8 * 4 * 4, 10], { init: 'he' });
    const h = x.conv2d(k1, { padding: 1 }).add(b1.reshape([1, 6, 1, 1])).relu().maxPool2d({ kernel: 2 });
    const scores = h.conv2d(k2, { stride: [1, 1], dilation: 1 }).relu().reshape([8, 128]).matmul(w);
    const loss = scores.softmaxCrossEntropy(labels).named('loss');
    const r = mulberry32(6);
    const data = { x: Float32Array.from({ length: 8 * 2 * 144 }, () => randn(r)), labels: Int32Array.from({ length: 8 }, () => Math.floor(r() * 10)) };
    const run = async (threads: number, wasm = true) => {
      const compiled = await compile(n, { loss, seed: 2, threads, wasm: wasm ? 'all' : false });
      models.push(compiled);
      const model = threads > 1 ? (await load(compiled.source)).createModel({ seed: 2, threads }) : compiled;
      models.push(model);
      const losses = Array.from({ length: 3 }, () => model.step(data, 1e-2));
      return { source: compiled.source, losses, params: ['k1', 'b1', 'k2', 'w'].map((k) => Array.from(model.params[k]!)) };
    };
    const [one, three, loops] = [await run(1), await run(3), await run(1, false)];
    expect(three.source).toMatch(/const im2col_x = threaded_loop\(pool, \[\d+, \d+, \d+\]/);
    expect(three.source).toMatch(/const col2im_\w+ = threaded_loop\(pool, \[\d+, \d+, \d+\]/);
    expect(one.source).toContain('im2col_x(); // each tap\'s input at every output position');
    expect(loops.source).not.toContain('im2col_x()');
    expect(three.losses).toEqual(one.losses);
    expect(three.params).toEqual(one.params);
    loops.losses.forEach((l, i) => expect(Math.abs(l - one.losses[i]!)).toBeLessThan(1e-5));
    loops.params.forEach((p, k) => p.forEach((v, i) => expect(Math.abs(v - one.params[k]![i]!)).toBeLessThan(1e-5)));
  });

  it('shareBounds splits n into shares of a multiple, as even as that allows, fewer when n is short', () => {
    expect(shareBounds(100, 4, 4)).toEqual([0, 28, 52, 76, 100]);
    expect(shareBounds(256, 2, 4)).toEqual([0, 128, 256]);
    expect(shareBounds(200704, 2, 16)).toEqual([0, 100352, 200704]);
    expect(shareBounds(5, 4, 4)).toEqual([0, 4, 5]);
    expect(shareBounds(3, 2, 4)).toEqual([0, 3]);
  });

  it('a worker that ends is replaced by the calling thread: the next step completes, says so once, and computes the same', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const one = await train(1, 6);
    const two = await train(2, 3);
    await two.model.workers![0]!.terminate();
    await new Promise((resolve) => setTimeout(resolve, 20)); // the worker's exit event
    for (let t = 0; t < 3; t++) two.losses.push(two.model.step(feeds, 1e-4));
    expect(two.losses).toEqual(one.losses);
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual(['flatgrad: a worker thread failed or ended: running on one thread from now on']);
  });

  it('a worker gone without a word (no exit event) costs nothing but speed: the calling thread takes the shares it never claims', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const one = await train(1, 6);
    const two = await train(2, 3);
    await endSilently(two.model);
    for (let t = 0; t < 3; t++) two.losses.push(two.model.step(feeds, 1e-4));
    expect(two.losses).toEqual(one.losses);
    expect(warn).not.toHaveBeenCalled();
  });

  const abandoned = 'a share a worker took and never finished (killed inside it) fails the step after 5 s with a clear error, the params as they were; the model goes on on one thread';
  it(abandoned, { timeout: 30_000 }, async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const one = await train(1, 204); // as many as the loop below may take, and the two after
    const two = await train(2, 2);
    // The model's worker ends; a thread of the test's own claims the next share and dies with it, as a worker killed mid-share.
    await endSilently(two.model);
    const control = Number(/thread_pool\(kernels\.module, kernels\.exports, memory, threads, \d+, (\d+),/.exec(two.source)![1]);
    // It takes the second share of the first matmul it sees, while the calling thread computes the first (so in the
    // forward or backward pass, before any update); steps until then complete.
    const thief = new Worker(`
      const { workerData: { buffer, control }, parentPort } = require('node:worker_threads');
      const words = new Int32Array(buffer, control, 20);
      let seen = Atomics.load(words, 0);
      parentPort.postMessage('ready');
      for (;;) {
        while (Atomics.load(words, 0) === seen);
        seen = Atomics.load(words, 0);
        if (Atomics.load(words, 3) >= 2 && words[12 + 1] === 0 && Atomics.compareExchange(words, 12 + 7, seen, 0) === seen) break;
      }
    `, { eval: true, workerData: { buffer: two.model.params.w1!.buffer, control } });
    await new Promise((resolve) => thief.once('message', resolve));
    let failed: Error | undefined;
    let before: number[][] = [];
    for (let t = 0; t < 200 && !failed; t++) {
      before = ['w1', 'w2'].map((n) => Array.from(two.model.params[n]!));
      try {
        two.losses.push(two.model.step(feeds, 1e-4));
      } catch (e) {
        failed = e as Error;
      }
    }
    expect(failed?.message).toMatch(
      /^flatgrad: a worker thread took its share of gemm_\w+ and did not finish it in 5 s \(killed or stuck\): the call was abandoned, and the model runs on one thread from now on$/,
    );
    expect(['w1', 'w2'].map((n) => Array.from(two.model.params[n]!))).toEqual(before);
    await thief.terminate();
    two.losses.push(two.model.step(feeds, 1e-4), two.model.step(feeds, 1e-4));
    expect(two.losses).toEqual(one.losses.slice(0, two.losses.length));
    expect(warn).not.toHaveBeenCalled();
  });

  it('by default compile() splits for as many threads as the machine has cores (up to 4), emit() for 4 wherever it runs, with the same numbers; createModel may ask for fewer', async () => {
    const one = await train(1, 4);
    const model = await compile(g, { ...options, seed: 3 });
    models.push(model);
    const cores = Math.min(availableParallelism(), 4);
    if (cores > 1) expect(model.source).toContain(`const threads = thread_count(options.threads, ${cores});`);
    else expect(model.source).not.toContain('thread_pool');
    expect(model.workers ?? []).toHaveLength(cores - 1);
    await model.ready();
    expect(Array.from({ length: 4 }, () => model.step(feeds, 1e-4))).toEqual(one.losses);
    // emit()'s module is the same on every machine: four shares of each matmul, here on two threads (whichever is free takes the next)
    const source = emit(g, options);
    expect(source).toContain('const threads = thread_count(options.threads, 4);');
    const { createModel } = await load(source);
    const two = createModel({ seed: 3, threads: 2 });
    models.push(two);
    expect(two.workers).toHaveLength(1);
    expect(Array.from({ length: 4 }, () => two.step(feeds, 1e-4))).toEqual(one.losses);
    // on one thread: a plain memory (the kernels' import of a shared one rewritten), still the Wasm kernels
    const single = createModel({ seed: 3, threads: 1 });
    models.push(single);
    expect(single.workers).toEqual([]);
    expect(single.kernels).toMatch(/^wasm-/);
    expect(Object.prototype.toString.call(single.params.w1!.buffer)).toBe('[object ArrayBuffer]');
    expect(Array.from({ length: 4 }, () => single.step(feeds, 1e-4))).toEqual(one.losses);
  });

  it('the workers of a model nobody holds end when it is garbage-collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { exited } = await (async () => {
      const model = (await load((await compile(g, { ...options, threads: 2 })).source)).createModel({ threads: 2 });
      model.step(feeds, 1e-4);
      return { exited: new Promise((resolve) => (model.workers![0] as Worker).once('exit', resolve)) };
    })();
    for (let i = 0; i < 50 && !(await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 20))])); i++) gc();
    await expect(Promise.race([exited.then(() => 'ended'), new Promise((r) => setTimeout(() => r('still running'), 100))])).resolves.toBe('ended');
  });

  it('dispose() ends the workers, and the model goes on on the calling thread', async () => {
    const one = await train(1, 4);
    const two = await train(2, 2);
    two.model.dispose!();
    two.losses.push(two.model.step(feeds, 1e-4), two.model.step(feeds, 1e-4));
    expect(two.losses).toEqual(one.losses);
  });

  it('threads must be a small positive integer; a model without a large matmul has no threads', async () => {
    await expect(compile(g, { ...options, threads: 0 })).rejects.toThrow('compile: threads must be an integer from 1 to 64, got 0');
    await expect(compile(g, { ...options, threads: 2.5 })).rejects.toThrow('got 2.5');
    // a threaded module's createModel checks what it is asked for too
    const two = await compile(g, { ...options, threads: 2 });
    models.push(two);
    const { createModel } = await load(two.source);
    expect(() => createModel({ threads: 2.5 })).toThrow('createModel: threads must be a positive integer (this module runs at most 2), got 2.5');
    const small = graph('small');
    const loss = small.input('x', [4, 3]).matmul(small.param('w', [3, 2])).sum();
    const model = await compile(small, { loss, threads: 4 });
    expect(model.workers).toEqual([]); // every model has workers: none here
    expect(model.source).not.toContain('threaded_gemm');
  });
});
