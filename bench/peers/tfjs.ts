// TensorFlow.js rows: the pure-JS cpu backend and the Wasm backend (SIMD; single-threaded, as Node has no web
// Workers). The umbrella package brings the gradients (without it: "gradient function not found for Sum").
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { absSum, MATMUL_SIZES, W1, W2, type BenchData, type PeerTasks, type Task, type WorkloadId } from '../workloads.ts';

export type TfjsBackend = 'cpu' | 'wasm';

async function use(backend: TfjsBackend): Promise<void> {
  if (tf.getBackend() !== backend && !(await tf.setBackend(backend))) throw new Error(`tfjs: backend '${backend}' failed to start`);
  await tf.ready();
}

/** One training step: SGD on `vars` minimizing `loss`; returns the loss, read back as a number. */
function sgdStep(lr: number, loss: () => tf.Scalar, vars: tf.Variable[]): () => number {
  const opt = tf.train.sgd(lr);
  return () => {
    const l = opt.minimize(loss, true, vars)!;
    const v = l.dataSync()[0]!;
    l.dispose();
    return v;
  };
}

export async function tfjsPeer(backend: TfjsBackend, data: BenchData): Promise<PeerTasks & { info: string }> {
  tf.enableProdMode(); // no debug checks, and no "install tfjs-node" banner on stdout
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false); // Node has no Worker global: the threaded build cannot start anyway
  await use(backend);
  const tasks: Partial<Record<WorkloadId, Task>> = {};

  {
    const { N, D_in, H, D_out, lr } = W1;
    const x = tf.tensor2d(data.w1.x, [N, D_in]), y = tf.tensor2d(data.w1.y, [N, D_out]);
    const w1 = tf.variable(tf.tensor2d(data.w1.w1.slice(), [D_in, H])), w2 = tf.variable(tf.tensor2d(data.w1.w2.slice(), [H, D_out]));
    const fn = sgdStep(lr, () => tf.sum(tf.square(tf.sub(tf.matMul(tf.sigmoid(tf.matMul(x, w1)), w2), y))), [w1, w2]);
    tasks.w1 = { fn, check: fn() };
  }
  {
    const { N, D_in, H, C, lr } = W2;
    const x = tf.tensor2d(data.w2.x, [N, D_in]), labels = tf.tensor1d(data.w2.labels, 'int32');
    const w1 = tf.variable(tf.tensor2d(data.w2.w1.slice(), [D_in, H])), b1 = tf.variable(tf.tensor1d(data.w2.b1.slice()));
    const w2 = tf.variable(tf.tensor2d(data.w2.w2.slice(), [H, C])), b2 = tf.variable(tf.tensor1d(data.w2.b2.slice()));
    const fn = sgdStep(lr, () => {
      const scores = tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), b2);
      return tf.losses.softmaxCrossEntropy(tf.cast(tf.oneHot(labels, C), 'float32'), scores) as tf.Scalar; // mean over N
    }, [w1, b1, w2, b2]);
    tasks.w2 = { fn, check: fn() };
  }
  for (const n of MATMUL_SIZES) {
    const a = tf.tensor2d(data.mm[n]!.a, [n, n]), b = tf.tensor2d(data.mm[n]!.b, [n, n]);
    const c0 = tf.matMul(a, b);
    const check = absSum(c0.dataSync());
    c0.dispose();
    const fn = () => {
      const c = tf.matMul(a, b);
      c.dataSync(); // wait for it and read it into JS, as flatgrad's output is
      c.dispose();
    };
    tasks[`mm${n}` as WorkloadId] = { fn, check };
  }
  const info = backend === 'wasm'
    ? `tfjs-backend-wasm ${version_wasm}: SIMD ${await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')}, threads ${getThreadsCount()}`
    : `tfjs-backend-cpu ${tf.version.tfjs}`;
  return { name: `TensorFlow.js ${tf.version.tfjs} ${backend}`, enter: () => use(backend), tasks, info };
}
