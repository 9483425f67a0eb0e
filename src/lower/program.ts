// A lowered program: what a host module is generated from (src/codegen), its buffers, named scalars and kernels.
import type { Init, Node, Phase } from '../graph/graph.ts';
import type { BoundGraph } from '../passes/bound-graph.ts';
import type { Dims } from '../shape/shape.ts';
import type { Kernel, KExpr, MapKernel } from '../ir/kernel.ts';
import type { OptimizerPlan } from '../optim/optimizer.ts';

export type FloatType = 'f32' | 'f64';

/** What to compute, and how. */
export interface ProgramSpec {
  readonly name: string;
  /** Where the graph was declared (for the header). */
  readonly site: string;
  readonly dims: Dims;
  readonly dtype: FloatType;
  readonly graph: BoundGraph;
  /** Check every value for NaN and ±Infinity as it is computed. */
  readonly checkFinite?: boolean;
  /** step() checks that the loss and every gradient are finite before its update, and refuses it otherwise. */
  readonly guardStep?: boolean;
  /** Fuse elementwise chains into one loop, fold transposes into matmuls, and plan buffer reuse. */
  readonly fuse?: boolean;
  /** Run f32 matmuls and large loops as generated WebAssembly SIMD kernels (with a TypeScript fallback); 'all': every loop it can. */
  readonly wasm?: boolean | 'all';
  /** Threads the large Wasm matmuls and long loops are split across (1: the calling thread only). */
  readonly threads?: number;
  /** How step() updates the params. */
  readonly optimizer: OptimizerPlan;
  /** Where it runs: the CPU (a TypeScript module, with Wasm kernels), or WebGPU (WGSL kernels and their host). */
  readonly target?: 'cpu' | 'webgpu';
  /**
   * 'flush' (default): an f32 CPU program's updates and its fused loops of 1,024 elements or more store subnormals
   * as ±0 (MapKernel.flush; src/lower/lower.ts, flushes); 'keep': as IEEE 754 has them. See docs/subnormals.md.
   */
  readonly subnormals?: Subnormals;
}

export type Subnormals = 'flush' | 'keep';

export interface Leaf {
  /** Its identifier in the program: unique among every value, buffer and state buffer. */
  readonly name: string;
  /** What params, feeds, state and messages call it: the user's name (an optimizer buffer's is `<slot>_<param key>`). */
  readonly key: string;
  readonly shape: readonly number[];
  readonly symbolic: readonly (number | string)[];
  readonly size: number;
  readonly dtype: 'float' | 'i32';
  readonly init?: Init;
  /** An optimizer buffer's slot ('m', 'velocity', …) and the name of the param it belongs to. */
  readonly slot?: string;
  readonly param?: string;
}

export interface Buffer {
  readonly name: string;
  readonly size: number;
  readonly node: Node;
}

export interface Alias {
  readonly name: string;
  readonly of: string;
  readonly phase: Phase;
  readonly at: number;
}

export interface Step {
  readonly node: Node;
  readonly kernel: Kernel;
  /** A matmul that adds the bias and applies relu as it stores: the node its epilogue ends in (for the pictures). */
  readonly ends?: Node;
}

/** A lowered program: buffers, named scalars, buffer aliases, and the kernels of forward and backward. */
export interface Program {
  readonly spec: ProgramSpec;
  readonly inputs: readonly Leaf[];
  readonly params: readonly Leaf[];
  /** Node values with a buffer of their own (not inputs or params). */
  readonly buffers: readonly Buffer[];
  /** Named scalar constants, such as grad_L = 1; `backward` when only the backward pass reads them. */
  readonly scalars: readonly { name: string; expr: KExpr; backward: boolean }[];
  /** A second name for another node's buffer, as in grad_s2 = grad_s3, made in `phase` before its step `at`. */
  readonly aliases: readonly Alias[];
  /** The optimizer's buffers: one per slot per differentiated param, named `<slot>_<param>`, zero at start. */
  readonly state: readonly Leaf[];
  /** Integer inputs used as indices: each value must lie in [0, bound). */
  readonly indexChecks: readonly { input: string; bound: number }[];
  readonly forward: readonly Step[];
  readonly backward: readonly Step[];
  /** True when every value is a scalar: the module is straight-line code like the lecture's. */
  readonly scalarMode: boolean;
  /** The values the module exports: loss, grads (by the name of what they differentiate), outputs. */
  readonly loss?: Node;
  readonly grads: ReadonlyMap<string, Node>;
  readonly outputs: ReadonlyMap<string, Node>;
  /** step()'s update: scalars computed once a step after counting it (Adam's bias corrections), then a kernel per differentiated param. */
  readonly update: { readonly scalars: readonly { name: string; expr: KExpr }[]; readonly kernels: readonly { param: Leaf; kernel: MapKernel }[] };
  /** With fuse: every buffer's place in one arena, reused by liveness. */
  readonly memory?: MemoryPlan;
}

export interface ScratchArea {
  readonly offset: number;
  readonly floats: number;
}

/** Every buffer's place in one arena, reused by liveness (src/lower/memory.ts). */
export interface MemoryPlan {
  /** The arena's size. */
  readonly bytes: number;
  /** What one buffer per value would take. */
  readonly withoutReuse: number;
  readonly offsets: ReadonlyMap<string, number>;
  /**
   * With the Wasm kernels: where a conv computed as a matrix product (convAsProduct) keeps its columns [K, P] and its
   * rows [F, P], in the arena after every buffer; one area, as large as the largest conv needs, serves them all.
   */
  readonly scratch?: {
    readonly columns: ScratchArea;
    readonly rows: ScratchArea;
    /** A forward conv's columns kept for its weight gradient (which then skips its im2col), by columnsKey. */
    readonly kept: ReadonlyMap<string, ScratchArea>;
  };
}
