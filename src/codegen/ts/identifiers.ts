// The identifiers a generated TypeScript module uses for itself, and the identifier each value of the
// program gets in its code. A value keeps its own name unless that name would shadow or break one the module
// uses (a param named `Number`, `WebAssembly`, `step`, `for`, `i0`, …): then it becomes `Number_` in the code,
// while params, grads, feeds and messages still say `Number`. User names are never refused for this.
import { preludeNames } from './templates.ts';

/** JavaScript's reserved words (strict mode and modules included) and the names a module may not rebind. */
const keywords = [
  'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do', 'else', 'enum', 'export',
  'extends', 'false', 'finally', 'for', 'function', 'if', 'import', 'in', 'instanceof', 'new', 'null', 'return', 'super',
  'switch', 'this', 'throw', 'true', 'try', 'typeof', 'var', 'void', 'while', 'with', 'yield', 'let', 'static',
  'implements', 'interface', 'package', 'private', 'protected', 'public', 'await', 'arguments', 'eval',
];

/** The standard global object's properties (ECMAScript, WebAssembly and the timers every host has): code may read any of them. */
const globals = [
  'globalThis', 'undefined', 'NaN', 'Infinity', 'Object', 'Function', 'Array', 'Number', 'Boolean', 'String', 'Symbol', 'BigInt',
  'Math', 'JSON', 'Reflect', 'Proxy', 'Promise', 'Date', 'RegExp', 'Map', 'Set', 'WeakMap', 'WeakSet', 'WeakRef',
  'FinalizationRegistry', 'Iterator', 'Error', 'AggregateError', 'EvalError', 'RangeError', 'ReferenceError', 'SyntaxError',
  'TypeError', 'URIError', 'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Atomics', 'Int8Array', 'Uint8Array',
  'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'Float16Array', 'Float32Array', 'Float64Array',
  'BigInt64Array', 'BigUint64Array', 'parseInt', 'parseFloat', 'isNaN', 'isFinite', 'decodeURI', 'decodeURIComponent',
  'encodeURI', 'encodeURIComponent', 'escape', 'unescape', 'Intl', 'WebAssembly', 'console', 'queueMicrotask',
  'structuredClone', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval',
];

/**
 * What the emitter itself writes inside createModel (src/codegen/ts/module.ts, tensor.ts, scalar.ts, kernels.ts,
 * src/codegen/wasm/backend.ts).
 * test/names.test.ts reads every identifier of emitted modules and fails on one missing here.
 */
const emitted = [
  'createModel', 'options', '_options', 'Feeds', 'Model', 'params', 'grads', 'outputs', 'state', 'shapes', 'memory', 'arena', 'kernels',
  'rng', 'FEEDS', 'feeds', 'forward', 'forward_pass', 'forward_done', 'backward', 'backward_pass', 'step', 'update_params',
  'step_finite', 'check_step', 'lr', 'loss_value', 'train_pass', '_lr', 'passes', 'acc', 'gi', 'vprev', 'bc1', 'bc2', 'step_count',
  'GEMM_WASM_SIMD', 'GEMM_WASM_RELAXED_SIMD', 'pool', 'share_kernels', 'threads',
];

/** What the WebGPU host writes besides (src/codegen/webgpu/host.ts); reserved in WebGPU modules only, so CPU code keeps its names. */
const webgpuHost = [
  'device', 'module', 'usage', 'made', 'buffer', 'guard', 'guard_reset', 'uniforms', 'rate', 'step_state', 'pipeline', 'entryPoint',
  'PARAMS', 'GRADS', 'OUTPUTS', 'STATE', 'WGSL', 'reader', 'disposed', 'upload', 'run', 'refused', 'source', 'values', 'encoder',
  'pass', 'Phase', 'first', 'second', 'third', 'table', 'count', 'cause', 'causes', 'floats', 'name', 'from', 'to', 'value', 'b', 'bytes',
  'Snapshot', 'SHAPES', 'bad', 'checked', 'what', 'all', 'writes', 'snapshot', 'restore', 'k', 'n', 'size',
];

/** Loop counters: i, i0, i1, … */
const counter = /^i\d*$/;

const used = new Set([...keywords, ...globals, ...emitted, ...preludeNames()]);
const usedByWebGpu = new Set([...used, ...webgpuHost]);

/** Whether a CPU module's code needs `name` for itself. */
export function isModuleIdentifier(name: string): boolean {
  return used.has(name) || counter.test(name);
}

/** Whether a WebGPU module's code needs `name` for itself. */
export function isWebGpuModuleIdentifier(name: string): boolean {
  return usedByWebGpu.has(name) || counter.test(name);
}

/** The identifiers of one module: every value's, and fresh ones for what the emitter derives (loop_h, gemm_64x1000x100). */
export class Identifiers {
  private readonly taken = new Set<string>();
  private readonly renamed = new Map<string, string>();

  /**
   * `names`: every name of the program's values, so that a renamed one and a derived one avoid them all.
   * `reserved`: what the code needs for itself (a TypeScript module's identifiers by default; WGSL's for shaders),
   * and `rename`, what a value's name becomes when it is reserved (a name it gives must not be reserved itself).
   */
  constructor(names: Iterable<string>, private readonly reserved: (name: string) => boolean = isModuleIdentifier, rename = (n: string) => `${n}_`) {
    const all = [...names];
    for (const n of all) this.taken.add(n);
    for (const n of all) if (reserved(n) && !this.renamed.has(n)) this.renamed.set(n, this.fresh(rename(n)));
  }

  /** The identifier of the value named `name`. */
  id(name: string): string {
    return this.renamed.get(name) ?? name;
  }

  /** A new identifier: `base`, else base_2, base_3, …, never a value's or one the module uses. */
  fresh(base: string): string {
    let name = base;
    for (let k = 2; this.taken.has(name) || this.reserved(name); k++) name = `${base}_${k}`;
    this.taken.add(name);
    return name;
  }
}
