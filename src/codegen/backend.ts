// The seam between a host program and the kernel backends that run its kernels.
//
// A host module (src/codegen/cpu/tensor.ts) is written once: it owns the buffers, copies the feeds, and runs the
// program's kernels in order (forward, backward, then the optimizer's update kernels). For each kernel it asks
// its backends, in order of preference, which one runs it, and writes the statements that backend gives. So the
// choice is per kernel: on the CPU a matmul or a large fused loop runs as generated Wasm SIMD, a small loop or an
// integer gather stays a TypeScript loop, in the same module over the same memory.
//
// Asynchronous backends (WebGPU, src/codegen/webgpu/host.ts): a backend's statements *issue* its kernel; the CPU backends' happen to
// complete before the next statement runs, because they share the host's thread and memory. A GPU does not share
// the host's memory, so its kernels are not mixed with the CPU's one by one (each switch would be a transfer and
// a wait): a WebGPU model is a host of its own, generated from the same Program (steps in order, buffers, memory
// plan), whose statements encode dispatches into the step's command encoder, submitted once per step. Nothing in
// this interface waits; only that host's public API does, where it reads back: step() enqueues and returns, and
// reading the loss or a param is `await`ed (mapping a staging buffer), so a training loop never waits per step.
import type { Node } from '../graph/node.ts';
import type { Kernel } from '../ir/kernel.ts';

/** `node`: the graph node whose value the kernel computes (for comments); none for the optimizer's update. */
export interface KernelBackend {
  /** Whether this backend runs the kernel (and gains by it); the host takes the first backend that does. */
  runs(kernel: Kernel, node?: Node): boolean;
  /** The host's statements that run the kernel: its loops, or a call of code the backend keeps. */
  call(kernel: Kernel, node?: Node): string[];
}
