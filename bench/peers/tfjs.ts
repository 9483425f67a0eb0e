// TensorFlow.js rows: the pure-JS cpu backend and the Wasm backend (SIMD; single-threaded, as Node has no web
// Workers). The umbrella package brings the gradients (without it: "gradient function not found for Sum").
// The convnets run NHWC, TensorFlow's own layout: the wasm backend's Conv2D refuses NCHW ("does not support
// dataFormat:'channelsFirst'") and maxPool has only NHWC; so the data is transposed once, outside the timed step.
// The wasm backend cannot train a conv as it comes: it has no Conv2DBackpropFilter kernel (tensorflow/tfjs#8474,
// open); its steps compute the filter's gradient as a forward conv instead (convFilterGradAsConv).
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { absSum, C1, firstCall, firstForward, MATMUL_SIZES, W1, W2, W4, W5, type BenchData, type PeerTasks, type Section, type Task, type WorkloadId } from '../workloads.ts';

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

/** An NCHW array as an NHWC tensor. */
const nhwc = (v: Float32Array, [n, c, h, w]: readonly number[]) => tf.tidy(() => tf.transpose(tf.tensor4d(v, [n!, c!, h!, w!]), [0, 2, 3, 1]));
/** OIHW weights as a variable of TensorFlow's HWIO filter. */
const filter = (v: Float32Array, [o, i, h, w]: readonly number[]) => tf.variable(tf.tidy(() => tf.transpose(tf.tensor4d(v.slice(), [o!, i!, h!, w!]), [2, 3, 1, 0])));
/**
 * A dense weight [C·H·W, out] whose rows follow an NCHW flattening (c, h, w), as a variable whose rows follow the NHWC
 * one (h, w, c): the same layer on the NHWC activations.
 */
const denseFromNchw = (v: Float32Array, [c, h, w]: readonly number[], out: number) =>
  tf.variable(tf.tidy(() => tf.reshape(tf.transpose(tf.tensor4d(v.slice(), [c!, h!, w!, out]), [1, 2, 0, 3]), [c! * h! * w!, out])));
const vector = (v: Float32Array) => tf.variable(tf.tensor1d(v.slice()));
const dense = (v: Float32Array, rows: number, cols: number) => tf.variable(tf.tensor2d(v.slice(), [rows, cols]));
/** A stride-1 conv, NHWC with an HWIO filter; `input`: whether x is the step's input (no gradient needed). */
type Conv = (x: tf.Tensor4D, w: tf.Tensor4D, pad: 'valid' | 'same', input: boolean) => tf.Tensor4D;
const plainConv: Conv = (x, w, pad) => tf.conv2d(x, w, 1, pad);

/**
 * tf.conv2d whose gradient runs on kernels the wasm backend has: the filter's as a forward Conv2D (XNNPACK),
 * dW[i, j, c, f] = Σ over n, h, w of xp[n, h + i, w + j, c]·dy[n, h, w, f], i.e. the C images xpᵀ [C, Hp, Wp, N] (the
 * batch as channels) convolved 'valid' with dyᵀ [Ho, Wo, N, F] as the filter, giving [C, kh, kw, F]; the input's as
 * conv2dTranspose (Conv2DBackpropInput), or zeros where x is the step's input, whose gradient nobody reads.
 */
const convFilterGradAsConv: Conv = (x, w, pad, input) => tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [xs, ws, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
  save([xs, ws]);
  return {
    value: tf.conv2d(xs, ws, 1, pad),
    gradFunc: (dy: tf.Tensor4D, [xv, wv]: tf.Tensor[]) => {
      const [kh, kw] = wv!.shape as number[];
      const [ph, pw] = pad === 'same' ? [(kh! - 1) / 2, (kw! - 1) / 2] : [0, 0];
      const xp = ph || pw ? tf.pad(xv as tf.Tensor4D, [[0, 0], [ph, ph], [pw, pw], [0, 0]]) : xv as tf.Tensor4D;
      const dw = tf.transpose(tf.conv2d(tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D, tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D, 1, 'valid'), [1, 2, 0, 3]);
      const dx = input ? tf.zerosLike(xv!) : tf.conv2dTranspose(dy, wv as tf.Tensor4D, xv!.shape as [number, number, number, number], 1, pad);
      return [dx, dw];
    },
  };
})(x, w) as tf.Tensor4D;

/** conv (stride 1, 'valid' or 'same' padding) → bias → ReLU → 2×2 max pool, NHWC. */
const convReluPool = (conv: Conv, x: tf.Tensor4D, w: tf.Variable, b: tf.Variable, pad: 'valid' | 'same', input = false) =>
  tf.maxPool(tf.relu(tf.add(conv(x, w as tf.Tensor as tf.Tensor4D, pad, input), b)) as tf.Tensor4D, 2, 2, 'valid');

/**
 * The conv workloads: W4, W5 (steps; on wasm with convFilterGradAsConv, and a note saying so) and C1 (one conv
 * forward, read back into JS, as flatgrad's output is).
 */
function convTasks(data: BenchData, backend: TfjsBackend): Pick<PeerTasks, 'tasks' | 'notes'> {
  const conv = backend === 'wasm' ? convFilterGradAsConv : plainConv;
  const d = data.conv;
  if (!d) throw new Error('tfjs: no conv data');
  const tasks: Partial<Record<WorkloadId, Task>> = {};
  {
    const { N, HW, K, C1: F1, C2: F2, H, C, lr } = W4;
    const x = nhwc(d.w4.x, [N, 1, HW, HW]), onehot = tf.cast(tf.oneHot(tf.tensor1d(d.w4.labels, 'int32'), C), 'float32');
    const conv1 = filter(d.w4.conv1, [F1, 1, K, K]), bias1 = vector(d.w4.bias1);
    const conv2 = filter(d.w4.conv2, [F2, F1, K, K]), bias2 = vector(d.w4.bias2);
    const w3 = denseFromNchw(d.w4.w3, [F2, 4, 4], H), b3 = vector(d.w4.b3), w4 = dense(d.w4.w4, H, C), b4 = vector(d.w4.b4);
    const fn = sgdStep(lr, () => {
      const h2 = convReluPool(conv, convReluPool(conv, x, conv1, bias1, 'valid', true), conv2, bias2, 'valid');
      const h3 = tf.relu(tf.add(tf.matMul(tf.reshape(h2, [N, -1]), w3), b3));
      return tf.losses.softmaxCrossEntropy(onehot, tf.add(tf.matMul(h3, w4), b4)) as tf.Scalar; // mean over N
    }, [conv1, bias1, conv2, bias2, w3, b3, w4, b4]);
    tasks.w4 = firstCall(fn);
  }
  {
    const { N, C_in, HW, F, K, H, C, lr } = W5;
    const x = nhwc(d.w5.x, [N, C_in, HW, HW]), onehot = tf.cast(tf.oneHot(tf.tensor1d(d.w5.labels, 'int32'), C), 'float32');
    const w1 = filter(d.w5.w1, [F, C_in, K, K]), b1 = vector(d.w5.b1); // 'same': padding (K − 1) / 2 = 3 each side
    const w2 = denseFromNchw(d.w5.w2, [F, HW / 2, HW / 2], H), b2 = vector(d.w5.b2), w3 = dense(d.w5.w3, H, C), b3 = vector(d.w5.b3);
    const fn = sgdStep(lr, () => {
      const h2 = tf.relu(tf.add(tf.matMul(tf.reshape(convReluPool(conv, x, w1, b1, 'same', true), [N, -1]), w2), b2));
      return tf.losses.softmaxCrossEntropy(onehot, tf.add(tf.matMul(h2, w3), b3)) as tf.Scalar;
    }, [w1, b1, w2, b2, w3, b3]);
    tasks.w5 = firstCall(fn);
  }
  {
    const { N, C: Cin, HW, F, K } = C1;
    const x = nhwc(d.c1.x, [N, Cin, HW, HW]); // 'same' below: padding (K − 1) / 2 = 1
    const w = tf.tidy(() => tf.transpose(tf.tensor4d(d.c1.w, [F, Cin, K, K]), [2, 3, 1, 0])) as tf.Tensor4D;
    let check = 0;
    tasks.c1 = firstForward(() => {
      const y = tf.conv2d(x, w, 1, 'same');
      const values = y.dataSync(); // wait for it and read it into JS, as flatgrad's output is
      if (!check) check = absSum(values); // the first call's
      y.dispose();
    }, () => check);
  }
  const note = backend === 'wasm' ? 'filter gradient as a conv (tfjs#8474)' : undefined;
  return { tasks, notes: note ? { w4: note, w5: note } : {} };
}

/** The base workloads: the two-layer nets' steps and the matmuls. */
function baseTasks(data: BenchData): Partial<Record<WorkloadId, Task>> {
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
  return tasks;
}

export async function tfjsPeer(backend: TfjsBackend, data: BenchData, sections: readonly Section[] = ['base']): Promise<PeerTasks & { info: string }> {
  tf.enableProdMode(); // no debug checks, and no "install tfjs-node" banner on stdout
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false); // Node has no Worker global: the threaded build cannot start anyway
  await use(backend);
  const conv = sections.includes('conv') ? convTasks(data, backend) : { tasks: {}, notes: {} };
  const tasks = { ...(sections.includes('base') ? baseTasks(data) : {}), ...conv.tasks };
  const info = backend === 'wasm'
    ? `tfjs-backend-wasm ${version_wasm}: SIMD ${await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')}, threads ${getThreadsCount()}`
    : `tfjs-backend-cpu ${tf.version.tfjs}`;
  return { name: `TensorFlow.js ${tf.version.tfjs} ${backend}`, enter: () => use(backend), tasks, notes: conv.notes, info };
}
