// The jax-js row: init('wasm') (a bare init() also tries WebGPU and throws "navigator is not defined" in Node),
// jit(valueAndGrad) for the steps, jit(matmul) for the products. Node has no web Worker, so the Wasm backend runs
// on one thread. jax-js moves references: every argument is consumed, `.ref` keeps a copy alive. The convnets use
// lax.convGeneralDilated (NCHW, OIHW: JAX's default dimension numbers, flatgrad's layout) and lax.reduceWindow with
// max for the pooling, as Flax's max_pool does.
import { readFileSync } from 'node:fs';
import { init, jit, lax, nn, numpy as np, valueAndGrad, type Array as JArray } from '@jax-js/jax';
import { absSum, C1, firstCall, firstForward, MATMUL_SIZES, W1, W2, W4, W5, type BenchData, type PeerTasks, type Section, type Task, type WorkloadId } from '../workloads.ts';

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

const arr = (v: Float32Array, shape: number[]) => np.array(v.slice(), { shape });

/** A stride-1 conv with `pad` on every side (NCHW input, OIHW weights), plus a bias per channel. */
const conv = (x: JArray, w: JArray, b: JArray, pad: number) =>
  lax.convGeneralDilated(x, w, [1, 1], [[pad, pad], [pad, pad]]).add(b.reshape([1, -1, 1, 1]));
/** 2×2 max pool, stride 2. */
const pool = (x: JArray) => lax.reduceWindow(x, (v: JArray) => np.max(v), [2, 2], [2, 2]);
/** Mean softmax cross-entropy of scores [N, C] over int32 labels, as W2's. */
const crossEntropy = (scores: JArray, labels: JArray, classes: number) =>
  np.mean(np.sum(nn.logSoftmax(scores, -1).mul(nn.oneHot(labels, classes)), -1)).mul(-1);

/**
 * The conv workloads: W4, W5 (jitted SGD steps) and C1 (a jitted conv, read back into JS, as flatgrad's output is).
 * One that throws (jax-js's convolutions are young) gets a note saying so in place of numbers.
 */
function convTasks(data: BenchData): Pick<PeerTasks, 'tasks' | 'notes'> {
  const d = data.conv;
  if (!d) throw new Error('jax-js: no conv data');
  const tasks: Partial<Record<WorkloadId, Task>> = {};
  const notes: Partial<Record<WorkloadId, string>> = {};
  const labels = (v: Int32Array) => np.array(v.slice(), { dtype: np.int32 });
  const attempt = (id: WorkloadId, make: () => Task) => {
    try {
      tasks[id] = make();
    } catch (e) {
      notes[id] = `failed: ${(e as Error).message.split('\n')[0]}`;
    }
  };
  attempt('w4', () => {
    const { N, HW, K, C1: F1, C2: F2, H, C, lr } = W4;
    const loss = (p: Params, x: JArray, y: JArray) => {
      const h1 = pool(nn.relu(conv(x, p.conv1!, p.bias1!, 0)));
      const h2 = pool(nn.relu(conv(h1, p.conv2!, p.bias2!, 0)));
      const h3 = nn.relu(np.matmul(h2.reshape([N, -1]), p.w3!).add(p.b3!));
      return crossEntropy(np.matmul(h3, p.w4!).add(p.b4!), y, C);
    };
    const p0 = {
      conv1: arr(d.w4.conv1, [F1, 1, K, K]), bias1: arr(d.w4.bias1, [F1]), conv2: arr(d.w4.conv2, [F2, F1, K, K]), bias2: arr(d.w4.bias2, [F2]),
      w3: arr(d.w4.w3, [F2 * 4 * 4, H]), b3: arr(d.w4.b3, [H]), w4: arr(d.w4.w4, [H, C]), b4: arr(d.w4.b4, [C]),
    };
    return firstCall(runner(sgdStep(lr, loss), p0, arr(d.w4.x, [N, 1, HW, HW]), labels(d.w4.labels)));
  });
  attempt('w5', () => {
    const { N, C_in, HW, F, K, pad, H, C, lr } = W5;
    const loss = (p: Params, x: JArray, y: JArray) => {
      const h1 = pool(nn.relu(conv(x, p.w1!, p.b1!, pad)));
      const h2 = nn.relu(np.matmul(h1.reshape([N, -1]), p.w2!).add(p.b2!));
      return crossEntropy(np.matmul(h2, p.w3!).add(p.b3!), y, C);
    };
    const p0 = {
      w1: arr(d.w5.w1, [F, C_in, K, K]), b1: arr(d.w5.b1, [F]), w2: arr(d.w5.w2, [F * (HW / 2) ** 2, H]), b2: arr(d.w5.b2, [H]),
      w3: arr(d.w5.w3, [H, C]), b3: arr(d.w5.b3, [C]),
    };
    return firstCall(runner(sgdStep(lr, loss), p0, arr(d.w5.x, [N, C_in, HW, HW]), labels(d.w5.labels)));
  });
  attempt('c1', () => {
    const { N, C: Cin, HW, F, K, pad } = C1;
    const f = jit((x: JArray, w: JArray) => lax.convGeneralDilated(x, w, [1, 1], [[pad, pad], [pad, pad]]));
    const x = arr(d.c1.x, [N, Cin, HW, HW]), w = arr(d.c1.w, [F, Cin, K, K]);
    let check = 0;
    return firstForward(() => {
      const y = f(x.ref, w.ref).dataSync(); // wait for it and read it into JS, as flatgrad's output is
      if (!check) check = absSum(y); // the first call's
    }, () => check);
  });
  return { tasks, notes };
}

export async function jaxPeer(data: BenchData, sections: readonly Section[] = ['base']): Promise<PeerTasks> {
  await (started ??= init('wasm'));
  const conv = sections.includes('conv') ? convTasks(data) : { tasks: {}, notes: {} };
  const tasks = { ...(sections.includes('base') ? baseTasks(data) : {}), ...conv.tasks };
  const { version } = JSON.parse(readFileSync(new URL('../../node_modules/@jax-js/jax/package.json', import.meta.url), 'utf8')) as { version: string };
  return { name: `jax-js ${version} wasm (jit)`, tasks, notes: conv.notes };
}

/** The base workloads: the two-layer nets' steps and the matmuls. */
function baseTasks(data: BenchData): Partial<Record<WorkloadId, Task>> {
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
  return tasks;
}
