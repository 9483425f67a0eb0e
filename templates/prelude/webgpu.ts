import { flatgrad_error } from './flatgrad_error.ts';

/** GPUBufferUsage's flags, by value (so the module needs no WebGPU globals to load, and types from lib.dom or @webgpu/types alike). */
export const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;

/** Dispatches `workgroups` workgroups as x · y, each at most 65,535 (WebGPU's limit); the shaders number them wid.x + wid.y · x. */
export function dispatch(pass: GPUComputePassEncoder, workgroups: number): void {
  const x = Math.min(workgroups, 65535);
  pass.dispatchWorkgroups(x, Math.ceil(workgroups / x));
}

/**
 * Reads GPU buffers back: each read copies its buffer as it is now (after the work enqueued so far) into a staging
 * buffer and maps it. Staging buffers are made once per source and reused; a second read of the same buffer while
 * the first is still mapping gets one more.
 */
export function make_reader(device: GPUDevice): { read(source: GPUBuffer, bytes: number): Promise<ArrayBuffer>; destroy(): void } {
  const free = new Map<GPUBuffer, GPUBuffer[]>();
  const all: GPUBuffer[] = [];
  return {
    async read(source, bytes) {
      const pool = free.get(source) ?? [];
      free.set(source, pool);
      let staging = pool.pop();
      if (!staging) all.push((staging = device.createBuffer({ size: source.size, usage: USAGE.MAP_READ | USAGE.COPY_DST })));
      const encoder = device.createCommandEncoder();
      encoder.copyBufferToBuffer(source, 0, staging, 0, source.size);
      device.queue.submit([encoder.finish()]);
      await staging.mapAsync(0x1, 0, bytes); // GPUMapMode.READ
      const copy = staging.getMappedRange(0, bytes).slice(0);
      staging.unmap();
      pool.push(staging);
      return copy;
    },
    destroy() {
      for (const b of all) b.destroy();
    },
  };
}

/** The device must allow what the shaders bind: else say which limit and how to ask for it. */
export function check_device(device: GPUDevice, storageBuffers: number, largest: number): void {
  if (!device || typeof device.createShaderModule !== 'function') throw flatgrad_error(`createModel needs a GPUDevice (from navigator.gpu, or the webgpu package in Node), got ${device === null ? 'null' : typeof device}`);
  const limits = device.limits;
  if (limits.maxStorageBuffersPerShaderStage < storageBuffers) {
    throw flatgrad_error(`this model's kernels bind up to ${storageBuffers} storage buffers, the device allows ${limits.maxStorageBuffersPerShaderStage}: request the adapter's limit (requestDevice({ requiredLimits: { maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage } }))`);
  }
  if (limits.maxStorageBufferBindingSize < largest || limits.maxBufferSize < largest) {
    throw flatgrad_error(`this model's largest buffer takes ${largest} bytes, the device allows ${Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize)} in one binding: request the adapter's maxStorageBufferBindingSize and maxBufferSize`);
  }
}

/** Every shader compiles: else the compiler's messages (a flatgrad bug, or a device WGSL it does not take). */
export async function check_shaders(module: GPUShaderModule): Promise<void> {
  const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error');
  if (errors.length) throw flatgrad_error(`the WGSL did not compile on this device:\n${errors.map((m) => `  ${m.lineNum}:${m.linePos} ${m.message}`).join('\n')}`);
}
