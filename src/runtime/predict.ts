// predict(): a model's forward pass over any number of rows, through the batch size it was compiled for — the rows
// go through in chunks of that size, the last one padded with zeros — so serving a model needs no second compile.
import { FlatgradError } from '../graph/errors.ts';

/** What predict reads of a model: a compiled Model, or what a generated module's createModel() returns. */
export interface PredictModel {
  /** Each input's name, bound shape and batch dim ('N'; '' for an input without one). */
  readonly inputs: readonly { readonly name: string; readonly shape: readonly number[]; readonly batch: string; readonly dtype?: 'float' | 'i32'; readonly integer?: boolean }[];
  readonly outputs: Readonly<Record<string, Float32Array | Float64Array>>;
  forward(feeds: never): unknown;
}

export interface PredictOptions {
  /** Which output to collect (default: the model's only one). */
  readonly output?: string;
}

type Rows = ArrayLike<number>;

/**
 * The output `output` for every row of the batched feeds (flat, row-major, any number of rows): Float32Array or
 * Float64Array as the model's, rows × the output's row. Batched inputs left out (a training model's labels) are fed
 * zeros; inputs without a batch dim must be given. The model's params are only read.
 */
export function predict(model: PredictModel, feeds: Readonly<Record<string, Rows | number>>, options: PredictOptions = {}): Float32Array | Float64Array {
  const fail = (message: string): never => {
    throw new FlatgradError(`predict: ${message}`);
  };
  const names = Object.keys(model.outputs);
  const output = options.output ?? (names.length === 1 ? names[0]! : fail(`name the output to collect: the model has ${names.length ? names.map((n) => `'${n}'`).join(', ') : 'none (compile it with outputs: { … })'}`));
  const out = model.outputs[output] ?? fail(`the model has no output '${output}' (it has ${names.map((n) => `'${n}'`).join(', ') || 'none'})`);
  const batched = model.inputs.filter((i) => i.batch !== '');
  if (batched.length === 0) fail('the model has no input with a batch dim: call forward() instead');
  const size = batched[0]!.shape[0]!;
  const rowOf = (shape: readonly number[]) => shape.slice(1).reduce((a, b) => a * b, 1);
  for (const key of Object.keys(feeds)) if (!model.inputs.some((i) => i.name === key)) fail(`unknown feed '${key}': the model is fed ${model.inputs.map((i) => `'${i.name}'`).join(', ')}`);
  // The number of rows: every batched feed given must hold the same whole number of rows.
  let rows: number | undefined;
  for (const input of batched) {
    const v = feeds[input.name];
    if (v === undefined) continue;
    if (typeof v === 'number' || typeof v.length !== 'number') return fail(`feed '${input.name}' must be an array of rows of ${rowOf(input.shape)} numbers`);
    const n = v.length / rowOf(input.shape);
    if (!Number.isInteger(n)) fail(`feed '${input.name}' has ${v.length} values, not a whole number of rows of ${rowOf(input.shape)}`);
    if (rows !== undefined && n !== rows) fail(`feed '${input.name}' has ${n} rows, another batched feed ${rows}`);
    rows = n;
  }
  if (rows === undefined) return fail(`feed the rows to predict: ${batched.map((i) => `'${i.name}'`).join(', ')}`);
  const result = new (out instanceof Float64Array ? Float64Array : Float32Array)(rows * (out.length / size));
  const outRow = out.length / size;
  // One buffer per batched input, reused by every chunk; the others are fed as given.
  const chunk: Record<string, Float32Array | Float64Array | Int32Array | number | Rows> = {};
  for (const input of model.inputs) {
    const integer = input.dtype === 'i32' || input.integer === true;
    if (input.batch !== '') chunk[input.name] = integer ? new Int32Array(size * rowOf(input.shape)) : new Float64Array(size * rowOf(input.shape));
    else chunk[input.name] = feeds[input.name] ?? fail(`feed '${input.name}': it has no batch dim, so predict cannot make it up`);
  }
  for (let start = 0; start < rows; start += size) {
    const n = Math.min(size, rows - start);
    for (const input of batched) {
      const buffer = chunk[input.name] as Float64Array | Int32Array;
      const v = feeds[input.name] as Rows | undefined;
      const row = rowOf(input.shape);
      if (v === undefined) continue; // zeros from the start
      for (let i = 0; i < n * row; i++) buffer[i] = v[start * row + i]!;
      buffer.fill(0, n * row);
    }
    model.forward(chunk as never);
    result.set(out.subarray(0, n * outRow), start * outRow);
  }
  return result;
}
