// The jax-js row: init('wasm') (a bare init() also tries WebGPU and throws "navigator is not defined" in Node),
// jit(valueAndGrad) for the steps, jit(matmul) for the products. Node has no web Worker, so the Wasm backend runs
// on one thread. jax-js moves references: every argument is consumed, `.ref` keeps a copy alive.
import { readFileSync } from 'node:fs';
import { init, jit, nn, numpy as np, valueAndGrad, type Array as JArray } from '@jax-js/jax';
import { absSum, MATMUL_SIZES, W1, W2, type BenchData, type PeerTasks, type Task, type WorkloadId } from '../workloads.ts';

let started: Promise<unknown> | undefined;

/**
 * σ(z) = ½·tanh(z/2) + ½. jax-js's nn.sigmoid has a NaN gradient below about −88 (its e^−z overflows to Infinity
 * and Infinity/Infinity follows), which the two-layer net's randn weights reach (|x·w1| has a std of about 32).
 */
const sigmoid = (z: JArray) => np.tanh(z.mul(0.5)).mul(0.5).add(0.5);

type Params = Record<string, JArray>;

/** One jitted SGD step: returns [loss, new params], consuming the old ones. */
function sgdStep(lr: number, loss: (p: Params, x: JArray, y: JArray) => JArray) {
  return jit((p: Params, x: JArray, y: JArray): [JArray, Params] => {
    const refs: Params = {};
    for (const k in p) refs[k] = p[k]!.ref;
    const [l, g] = valueAndGrad(loss)(refs, x, y);
    const next: Params = {};
    for (const k in p) next[k] = p[k]!.sub(g[k]!.mul(lr));
    return [l, next];
  });
}

function runner(step: ReturnType<typeof sgdStep>, p0: Params, x: JArray, y: JArray): () => number {
  let p = p0;
  return () => {
    const [l, next] = step(p, x.ref, y.ref);
    p = next;
    return l.dataSync()[0]!; // dataSync waits, reads, and releases l
  };
}

export async function jaxPeer(data: BenchData): Promise<PeerTasks> {
  await (started ??= init('wasm'));
  const arr = (v: Float32Array, shape: number[]) => np.array(v.slice(), { shape });
  const tasks: Partial<Record<WorkloadId, Task>> = {};
  {
    const { N, D_in, H, D_out, lr } = W1;
    const loss = (p: Params, x: JArray, y: JArray) => {
      const d = np.matmul(sigmoid(np.matmul(x, p.w1!)), p.w2!).sub(y);
      return np.sum(d.ref.mul(d));
    };
    const fn = runner(sgdStep(lr, loss), { w1: arr(data.w1.w1, [D_in, H]), w2: arr(data.w1.w2, [H, D_out]) },
      arr(data.w1.x, [N, D_in]), arr(data.w1.y, [N, D_out]));
    tasks.w1 = { fn, check: fn() };
  }
  {
    const { N, D_in, H, C, lr } = W2;
    const loss = (p: Params, x: JArray, labels: JArray) => {
      const h = nn.relu(np.matmul(x, p.w1!).add(p.b1!));
      const logp = nn.logSoftmax(np.matmul(h, p.w2!).add(p.b2!), -1);
      return np.mean(np.sum(logp.mul(nn.oneHot(labels, C)), -1)).mul(-1);
    };
    const p0 = { w1: arr(data.w2.w1, [D_in, H]), b1: arr(data.w2.b1, [H]), w2: arr(data.w2.w2, [H, C]), b2: arr(data.w2.b2, [C]) };
    const fn = runner(sgdStep(lr, loss), p0, arr(data.w2.x, [N, D_in]), np.array(data.w2.labels.slice(), { dtype: np.int32 }));
    tasks.w2 = { fn, check: fn() };
  }
  const mm = jit((a: JArray, b: JArray) => np.matmul(a, b));
  for (const n of MATMUL_SIZES) {
    const a = arr(data.mm[n]!.a, [n, n]), b = arr(data.mm[n]!.b, [n, n]);
    const check = absSum(mm(a.ref, b.ref).dataSync());
    const fn = () => mm(a.ref, b.ref).dataSync(); // wait for it and read it into JS, as flatgrad's output is
    tasks[`mm${n}` as WorkloadId] = { fn, check };
  }
  const { version } = JSON.parse(readFileSync(new URL('../../node_modules/@jax-js/jax/package.json', import.meta.url), 'utf8')) as { version: string };
  return { name: `jax-js ${version} wasm (jit)`, tasks };
}
