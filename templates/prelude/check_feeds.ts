import { flatgrad_error } from './flatgrad_error.ts';

/** What one input must be fed. */
export interface Feed {
  readonly name: string;
  /** Its shape with dims bound; [] for a number. */
  readonly shape: readonly number[];
  /** Its shape for messages: '[N, 2] = [64, 2]'. */
  readonly about: string;
  /** The symbol its first dim was declared with ('N'), or '' for a number. */
  readonly batch: string;
  /** Integers only (an 'i32' input). */
  readonly integer: boolean;
  /** Labels and row indices must lie in [0, bound); 0 when there is no bound. */
  readonly bound: number;
}

/**
 * Every feed is checked before any is copied, so a bad call changes nothing: the feeds object names only the
 * model's inputs, and each holds numbers (integers where the input is 'i32', in range where it indexes), as
 * many as its shape holds, flat in row-major order or as nested arrays of exactly its shape.
 */
export function check_feeds(feeds: object, inputs: readonly Feed[]): void {
  if (typeof feeds !== 'object' || feeds === null) throw flatgrad_error(`feeds must be an object { ${inputs.map((s) => s.name).join(', ')} }, got ${feeds === null ? 'null' : typeof feeds}`);
  for (const key in feeds) if (!fed(inputs, key)) throw flatgrad_error(`unknown feed '${key}': this model is fed ${inputs.length ? inputs.map((s) => `'${s.name}'`).join(', ') : 'nothing'}`);
  for (let k = 0; k < inputs.length; k++) check_feed((feeds as Record<string, unknown>)[inputs[k]!.name], inputs[k]!);
}

function fed(inputs: readonly Feed[], key: string): boolean {
  for (let k = 0; k < inputs.length; k++) if (inputs[k]!.name === key) return true;
  return false;
}

function check_feed(value: unknown, input: Feed): void {
  const { name, shape } = input;
  if (shape.length === 0) return check_value(value, input, name);
  let size = 1;
  for (let d = 0; d < shape.length; d++) size *= shape[d]!;
  if (typeof value !== 'object' || value === null || typeof (value as ArrayLike<unknown>).length !== 'number') {
    throw flatgrad_error(`feed '${name}' must be an array of ${size} numbers for shape ${input.about}, got ${value === undefined ? 'nothing' : value === null ? 'null' : typeof value}`);
  }
  const src = value as ArrayLike<unknown>;
  if (shape.length > 1 && Array.isArray(src) && Array.isArray(src[0])) return check_nested(src, input, 0, name);
  if (src.length !== size) throw flatgrad_error(feed_length(input, src.length, size));
  if (!input.integer && ArrayBuffer.isView(src) && typeof src[0] === 'number') return; // a typed array holds only numbers
  for (let i = 0; i < size; i++) check_value(src[i], input, name, src, i);
}

/** A nested feed must have exactly the input's shape, axis by axis. */
function check_nested(src: ArrayLike<unknown>, input: Feed, axis: number, at: string): void {
  const n = input.shape[axis]!;
  if (src.length !== n) {
    throw flatgrad_error(`feed '${input.name}' is a nested array, but ${at} has ${src.length} entries where shape ${input.about} has ${n} (a feed is flat, in row-major order, or nested to exactly its shape)`);
  }
  const last = axis === input.shape.length - 1;
  for (let i = 0; i < n; i++) {
    const v = src[i];
    if (last) check_value(v, input, input.name, src, i, at);
    else if (typeof v === 'object' && v !== null && typeof (v as ArrayLike<unknown>).length === 'number') check_nested(v as ArrayLike<unknown>, input, axis + 1, `${at}[${i}]`);
    else throw flatgrad_error(`feed '${input.name}' is a nested array, but ${at}[${i}] is ${describe_value(v, src, i)}, not an array of ${input.shape[axis + 1]} (shape ${input.about})`);
  }
}

/** One value of a feed (src[i], or the feed itself when it is a number). */
function check_value(v: unknown, input: Feed, name: string, src?: ArrayLike<unknown>, i = 0, at = name): void {
  if (typeof v !== 'number') {
    if (!src) throw flatgrad_error(`feed '${name}' must be ${input.integer ? 'an integer' : 'a number'}, got ${v === undefined ? 'nothing' : describe_value(v, src, i)}`);
    const flat = Array.isArray(v) && input.shape.length <= 1 ? `; a feed of shape ${input.about} is one flat array of numbers` : '';
    throw flatgrad_error(`feed '${name}' must hold ${input.integer ? 'integers' : 'numbers'}, but ${at}[${i}] is ${describe_value(v, src, i)}${flat}`);
  }
  if (!input.integer) return;
  if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
    throw flatgrad_error(src ? `feed '${name}' must hold integers, but ${at}[${i}] is ${v}` : `feed '${name}' must be an integer, got ${v}`);
  }
  if (input.bound > 0 && (v < 0 || v >= input.bound)) throw flatgrad_error(`feed '${name}': ${src ? `${at}[${i}]` : name} is ${v}, outside [0, ${input.bound})`);
}

function describe_value(v: unknown, src: ArrayLike<unknown> | undefined, i: number): string {
  if (v === undefined && src && !(i in src)) return 'an empty slot (new Array(n) holds no values: fill it)';
  if (typeof v === 'string') return `the string '${v}'`;
  if (Array.isArray(v)) return `an array [${v.slice(0, 4).join(', ')}${v.length > 4 ? ', …' : ''}]`;
  return v === null ? 'null' : v === undefined ? 'undefined' : typeof v;
}

/** The wrong number of values; when it is whole rows of another batch size, say that the batch dim is fixed at compile time. */
function feed_length(input: Feed, length: number, size: number): string {
  const row = size / input.shape[0]!;
  const rows = length / row;
  const hint = input.batch && Number.isInteger(rows) && rows > 0
    ? `: that is ${rows} row${rows === 1 ? '' : 's'} of ${row}, and ${input.batch} was bound to ${input.shape[0]} when the model was compiled (feed batches of ${input.shape[0]}, or compile with ${input.batch} = ${rows})`
    : '';
  return `feed '${input.name}' has ${length} values, but shape ${input.about} holds ${size}${hint}`;
}
