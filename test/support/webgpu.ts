// WebGPU for the tests, two devices kept for the process's life:
// - Dawn's null adapter: compiles and validates shaders, pipelines and bind groups, computes nothing; needs no driver;
// - the adapter compile(g, { target: 'webgpu' }) takes by default: Mesa's lavapipe on a machine without a GPU, once
//   scripts/install-vulkan.sh has installed it. Without it the value tests are skipped with the reason in their
//   name; under CI (CI=true) they fail instead.
import { readFileSync } from 'node:fs';
import { create } from 'webgpu';
import { describe, expect, it } from 'vitest';
import { graph, randn, type Graph, type InputSpec, type Tensor } from '../../src/index.ts';
import { adapterDescription, defaultDevice } from '../../src/runtime/webgpu.ts';
import type { Rng } from '../../templates/prelude/random.ts';
import addMul from '../../examples/lecture/add_mul.ts';
import sigmoidNeuron from '../../examples/lecture/sigmoid_neuron.ts';
import reluVector from '../../examples/lecture/relu_vector.ts';
import matmulExample from '../../examples/lecture/matmul.ts';

const NULL_GPU = Symbol.for('flatgrad.test.dawn-null');

/** A device of Dawn's null adapter (one per process: its GPU object must stay reachable). */
export async function nullDevice(): Promise<GPUDevice> {
  const holder = globalThis as { [NULL_GPU]?: Promise<GPUDevice> };
  holder[NULL_GPU] ??= (async () => {
    const gpu = create(['backend=null']);
    (globalThis as { [k: symbol]: unknown })[Symbol.for('flatgrad.test.dawn-null-gpu')] = gpu;
    const adapter = await gpu.requestAdapter();
    if (!adapter) throw new Error("Dawn's null adapter is missing: is the webgpu package installed (npm ci)?");
    return adapter.requestDevice({ requiredLimits: { maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage } });
  })();
  return holder[NULL_GPU];
}

/** The default adapter's device, or why there is none. */
export const real: { device?: GPUDevice; description: string; why?: string } = await defaultDevice('test/support/webgpu.ts').then(
  (device) => ({ device, description: adapterDescription(device) }),
  (e: unknown) => ({ description: 'none', why: e instanceof Error ? e.message : String(e) }),
);

/**
 * A describe block whose tests need a real adapter. Without one: under CI one failing test says why; elsewhere the
 * block is skipped, its name saying why and which script installs the driver.
 */
export function describeOnGpu(name: string, body: (device: GPUDevice) => void): void {
  if (real.device) {
    const device = real.device;
    describe(`${name} (on ${real.description})`, () => body(device));
  } else if (process.env.CI) {
    describe(name, () => it('has a WebGPU adapter (CI installs Mesa lavapipe with scripts/install-vulkan.sh)', () => {
      throw new Error(`no WebGPU adapter: ${real.why}`);
    }));
  } else {
    describe.skip(`${name} (skipped: no WebGPU adapter here; scripts/install-vulkan.sh installs Mesa's lavapipe)`, () => body(undefined as unknown as GPUDevice));
  }
}

/** Every validation error while `work` runs, as messages (Dawn reports them asynchronously, not as throws). */
export async function validationErrors(device: GPUDevice, work: () => Promise<unknown> | unknown): Promise<string[]> {
  device.pushErrorScope('validation');
  device.pushErrorScope('internal');
  device.pushErrorScope('out-of-memory');
  let thrown: unknown;
  try {
    await work();
  } catch (e) {
    thrown = e;
  }
  const errors = (await Promise.all([device.popErrorScope(), device.popErrorScope(), device.popErrorScope()])).filter((e) => e !== null).map((e) => e.message);
  if (thrown) throw thrown;
  return errors;
}

/** A device that records every shader module made on it (to read each one's compilation messages). */
export function recording(device: GPUDevice): { device: GPUDevice; modules: GPUShaderModule[] } {
  const modules: GPUShaderModule[] = [];
  const spy = new Proxy(device, {
    get(target, key) {
      if (key === 'createShaderModule') {
        return (d: GPUShaderModuleDescriptor) => {
          const m = target.createShaderModule(d);
          modules.push(m);
          return m;
        };
      }
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { device: spy, modules };
}

// ---- what the WebGPU tests share (test/webgpu/webgpu.test.ts on the adapter, test/webgpu/webgpu_shaders.test.ts on the null one)

export type Spec = { graph: Graph; loss?: Tensor; outputs?: Record<string, Tensor>; wrt?: Tensor[]; dims?: Record<string, number> };
export const lecture: Record<string, Spec> = { add_mul: addMul, sigmoid_neuron: sigmoidNeuron, relu_vector: reluVector, matmul: matmulExample };
export const reference = JSON.parse(readFileSync(new URL('../fixtures/lecture-examples.json', import.meta.url), 'utf8')) as {
  examples: {
    name: string; inputs: Record<string, number | number[] | number[][]>; upstream?: number[] | number[][]; output: number | number[] | number[][];
    grads: Record<string, number | number[] | number[][]>;
  }[];
};
export const flat = (v: number | number[] | number[][]): number[] => (typeof v === 'number' ? [v] : (v as number[][]).flat());

/** Standard normal floats; integers uniform in the range they index. */
export function randomFeeds(inputs: readonly InputSpec[], rng: Rng): Record<string, number | number[]> {
  const draw = (bound = 0) => (bound === 0 ? randn(rng) : Math.floor(rng() * bound));
  return Object.fromEntries(inputs.map((i) => [i.name, i.shape.length === 0 ? draw(i.bound) : Array.from({ length: i.shape.reduce((a, b) => a * b, 1) }, () => draw(i.bound))]));
}

/** An MLP like examples/mnist.ts, small: ReLU hidden layers, softmax cross-entropy over integer labels. */
export function mlp(name = 'mlp', sizes = [20, 32, 16, 4], n = 24) {
  const g = graph(name);
  let h: Tensor = g.input('x', ['N', sizes[0]!]);
  const labels = g.input('labels', ['N'], 'i32');
  for (let k = 1; k < sizes.length; k++) {
    const w = g.param(`w${k}`, [sizes[k - 1]!, sizes[k]!], { init: 'he' });
    const b = g.param(`b${k}`, [sizes[k]!], { init: 'zeros' });
    h = h.matmul(w).add(b);
    if (k < sizes.length - 1) h = h.relu();
  }
  const scores = h.named('scores');
  return { graph: g, loss: scores.softmaxCrossEntropy(labels).named('loss'), outputs: { scores }, dims: { N: n } };
}

export const optimizers = [{ sgd: {} }, { momentum: { nesterov: true } }, { rmsprop: {} }, { adam: {} }, { adamw: { weightDecay: 0.01 } }, { momentum: { weightDecay: 0.1 } }];

/** max |a − b| over max |b|: the error relative to the tensor's scale. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}
