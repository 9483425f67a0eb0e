// Threads (compile option `threads`): large Wasm matmuls split into shares of C's rows, run by worker threads on
// the model's shared memory while the calling thread computes its own share and waits (Atomics). The numbers do
// not depend on the thread count; a worker that ends is replaced by the calling thread, with a warning.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { compile, graph, mulberry32, randn, type Model, type Optimizer } from '../src/index.ts';
import spec from '../examples/two_layer_net.ts';

const { graph: g, ...options } = spec;
const rng = mulberry32(1);
const feeds = { x: Float32Array.from({ length: 64 * 1000 }, () => randn(rng)), y: Float32Array.from({ length: 640 }, () => randn(rng)) };
const models: Model[] = [];
afterEach(() => {
  for (const m of models.splice(0)) m.dispose?.();
  vi.restoreAllMocks();
});

async function train(threads: number, steps: number, optimizer: Optimizer = { sgd: {} }): Promise<{ model: Model; losses: number[] }> {
  const model = await compile(g, { ...options, seed: 3, threads, optimizer });
  models.push(model);
  const losses = Array.from({ length: steps }, () => model.step(feeds, 1e-4));
  return { model, losses };
}

describe('threads', () => {
  it('the two-layer net trains bit for bit alike on 1, 2, 3 and 5 threads (SGD and Adam), its matmuls split into shares of rows and its update into shares of its range', async () => {
    for (const optimizer of [{ sgd: {} }, { adam: {} }] as Optimizer[]) {
      const one = await train(1, 8, optimizer);
      expect(one.model.source).not.toContain('thread_pool');
      for (const threads of [2, 3, 5]) { // 5: four shares of 64 rows, one worker idle in every job
        const many = await train(threads, 8, optimizer);
        expect(many.model.workers).toHaveLength(threads - 1);
        expect(many.model.source).toMatch(new RegExp(`const gemm_64x1000x100 = threaded_gemm\\(pool, kernels.exports, share_kernels, \\[(\\{ fn: \\d+, a: \\d+, c: \\d+ \\}(, )?){${Math.ceil(64 / (Math.ceil(64 / threads / 4) * 4))}}\\]`));
        // the update of w1 (10^5 floats; Adam's too, with its three scalars) runs as shares of its range
        expect(many.model.source).toMatch(/const update_w1 = threaded_loop\(pool, kernels.exports, share_kernels, \[\d+(, \d+)+\]/);
        expect(many.losses).toEqual(one.losses);
        for (const name of ['w1', 'w2']) expect(Array.from(many.model.params[name]!)).toEqual(Array.from(one.model.params[name]!));
      }
    }
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
    const { createModel } = await import(`data:text/javascript;base64,${Buffer.from((await import('esbuild')).transformSync(two.source, { loader: 'ts' }).code).toString('base64')}`) as { createModel(o: object): unknown };
    expect(() => createModel({ threads: 2.5 })).toThrow('createModel: threads must be an integer from 1 to 2, got 2.5');
    const small = graph('small');
    const loss = small.input('x', [4, 3]).matmul(small.param('w', [3, 2])).sum();
    const model = await compile(small, { loss, threads: 4 });
    expect(model.workers).toBeUndefined();
    expect(model.source).not.toContain('threaded_gemm');
  });
});
