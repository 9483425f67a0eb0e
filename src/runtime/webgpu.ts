// A WebGPU device for compile(g, { target: 'webgpu' }) when none is given: the browser's navigator.gpu, or in Node
// the `webgpu` package (Dawn), whose GPU object is kept on globalThis for the process's life (collected, it takes
// the process down). The device asks for the adapter's own limits on storage buffers, so large models bind.
import { FlatgradError } from '../errors/errors.ts';

const DAWN = Symbol.for('flatgrad.dawn');
let shared: Promise<GPUDevice> | undefined;

/** The default device, made once per process. */
export function defaultDevice(site: string): Promise<GPUDevice> {
  shared ??= makeDevice(site).catch((e: unknown) => {
    shared = undefined;
    throw e;
  });
  return shared;
}

async function makeDevice(site: string): Promise<GPUDevice> {
  let gpu: GPU | undefined = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) {
    let dawn: { create(flags: string[]): GPU; globals: object };
    try {
      dawn = (await import('webgpu')) as unknown as typeof dawn;
    } catch {
      throw new FlatgradError("compile: target 'webgpu' needs a WebGPU implementation: in a browser, one with WebGPU; in Node, the webgpu package (npm install webgpu), or pass { device }", site);
    }
    Object.assign(globalThis, dawn.globals);
    const holder = globalThis as { [DAWN]?: GPU };
    gpu = holder[DAWN] ??= dawn.create([]);
  }
  return deviceOf(gpu, site);
}

/** A device of `gpu`'s default adapter, with the adapter's storage limits; a clear error when it has none. */
export async function deviceOf(gpu: GPU, site: string): Promise<GPUDevice> {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' }); // a laptop's discrete GPU, for training
  if (!adapter) {
    throw new FlatgradError(
      "compile: target 'webgpu' found no GPU adapter. In Node, Dawn needs a Vulkan driver: on Debian bookworm, scripts/install-vulkan.sh installs Mesa 25's lavapipe "
        + "(a CPU driver) from bookworm-backports; elsewhere install your GPU's Vulkan driver (or Mesa >= 25's mesa-vulkan-drivers) and libvulkan1. In a browser, WebGPU must be enabled.",
      site,
    );
  }
  const limits = adapter.limits;
  return adapter.requestDevice({
    requiredLimits: {
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
    },
  });
}

/** The device's adapter in words (vendor, architecture, device, description), for reports and test names. */
export function adapterDescription(device: GPUDevice): string {
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  return info ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') : 'an unknown adapter';
}
