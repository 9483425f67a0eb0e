import { FlatgradError } from './errors.ts';

// Identifiers the generated module uses for itself, and JavaScript's reserved words.
const reserved = new Set([
  'params', 'grads', 'outputs', 'state', 'shapes', 'step_count', 'gi', 'bc1', 'bc2', 'vprev', 'feeds', 'FEEDS', 'loss_value', 'arena', 'memory', 'kernels', 'apply_update', 'gemm', 'load_kernels', 'decode_base64', 'Gemm', 'GEMM_WASM_SIMD', 'GEMM_WASM_RELAXED_SIMD', 'forward', 'forward_pass', 'backward', 'step', 'update_params', 'lr', 'acc', 'rng', 'options',
  'createModel', 'Feeds', 'Model', 'Math', 'Float32Array', 'Float64Array', 'Int32Array', 'Error', 'undefined', 'NaN', 'Infinity',
  'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do', 'else', 'enum', 'export',
  'extends', 'false', 'finally', 'for', 'function', 'if', 'import', 'in', 'instanceof', 'new', 'null', 'return', 'super',
  'switch', 'this', 'throw', 'true', 'try', 'typeof', 'var', 'void', 'while', 'with', 'yield', 'let', 'static',
  'implements', 'interface', 'package', 'private', 'protected', 'public', 'await', 'arguments', 'eval',
]);
/** Prelude helpers and loop counters: i, i0, i1, … */
const internal = /^(i\d*|sigmoid|softplus|check_finite|check_indices|check_feeds|matmul\w*|gemm_\w*|loop_\w*|feed|feed_number|randn|fill_randn|mulberry32|Rng)$/;
/** Every object has these (constructor, toString, __proto__, …): `feeds.constructor` is found even when not fed. */
const inherited = new Set(Object.getOwnPropertyNames(Object.prototype));

export function checkName(name: unknown, what: string, site: string): string {
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new FlatgradError(`${what}: name ${typeof name === 'string' ? JSON.stringify(name) : String(name)} is not an identifier (letters, digits and _, not starting with a digit)`, site);
  }
  if (reserved.has(name) || internal.test(name)) {
    throw new FlatgradError(`${what}: name '${name}' is reserved by the generated code; choose another`, site);
  }
  if (inherited.has(name)) {
    throw new FlatgradError(`${what}: name '${name}' is a property every JavaScript object inherits, so a missing feed or value of that name would go unnoticed; choose another`, site);
  }
  return name;
}
