// WebGPU for the tests, two devices kept for the process's life:
// - Dawn's null adapter: compiles and validates shaders, pipelines and bind groups, computes nothing; needs no driver;
// - the adapter compile(g, { target: 'webgpu' }) takes by default: Mesa's lavapipe on a machine without a GPU, once
//   scripts/install-vulkan.sh has installed it. Without it the value tests are skipped with the reason in their
//   name; under CI (CI=true) they fail instead.
import { create } from 'webgpu';
import { describe, it } from 'vitest';
import { defaultDevice } from '../src/runtime/webgpu.ts';

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
export const real: { device?: GPUDevice; description: string; why?: string } = await defaultDevice('test/webgpu.ts').then(
  (device) => ({ device, description: describeAdapter(device) }),
  (e: unknown) => ({ description: 'none', why: e instanceof Error ? e.message : String(e) }),
);

function describeAdapter(device: GPUDevice): string {
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  return info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') : 'an adapter';
}

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
