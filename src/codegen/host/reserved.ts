// The identifiers a generated TypeScript module uses for itself. A value keeps its own name unless that name would
// shadow or break one the module uses (a param named `Number`, `WebAssembly`, `step`, `for`, `i0`, …): then it
// becomes `Number_` in the code (src/codegen/identifiers.ts), while params, grads, feeds and messages still say
// `Number`. User names are never refused for this.
import { preludeNames } from './prelude.ts';

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
 * What the emitter itself writes inside createModel (src/codegen/host/module.ts, src/codegen/cpu/, the TypeScript
 * renderer's loops).
 * test/front/names.test.ts reads every identifier of emitted modules and fails on one missing here.
 */
const emitted = [
  'createModel', 'options', '_options', 'Feeds', 'Model', 'params', 'grads', 'outputs', 'state', 'shapes', 'memory', 'arena', 'kernels',
  'rng', 'FEEDS', 'feeds', 'forward', 'forward_pass', 'forward_done', 'backward', 'backward_pass', 'step', 'update_params',
  'step_finite', 'check_step', 'lr', 'loss_value', 'train_pass', '_lr', 'passes', 'acc', 'gi', 'vprev', 'bc1', 'bc2', 'step_count',
  'GEMM_WASM_SIMD', 'GEMM_WASM_RELAXED_SIMD', 'pool', 'share_kernels', 'threads',
];

/** Loop counters: i, i0, i1, … */
const counter = /^i\d*$/;

const used = new Set([...keywords, ...globals, ...emitted, ...preludeNames()]);

/** Whether a module's code needs `name` for itself; `extra`: what its host writes besides (the WebGPU host's names). */
export function moduleReserved(extra: readonly string[] = []): (name: string) => boolean {
  const names = extra.length ? new Set([...used, ...extra]) : used;
  return (name) => names.has(name) || counter.test(name);
}
