// predict(): a model's forward pass over any number of rows, through the batch size it was compiled for — the rows
// go through in chunks of that size, the last one padded with zeros — so serving a model needs no second compile.
import { checkOptions, FlatgradError, optionKeys, quotedList } from '../errors/errors.ts';
import { rowSize } from './data.ts';
import type { Model } from './compile.ts';

/**
 * What predict reads of a model: a compiled Model, or what a generated module's createModel() returns. Any model's
 * forward: a module's own takes its own Feeds, which names its inputs, so no one type of feeds is every module's.
 */
export type PredictModel = Pick<Model, 'inputs' | 'outputs'> & { forward(feeds: never): unknown };

export interface PredictOptions {
  /** Which output to collect (default: the model's only one). */
  readonly output?: string;
}

const PREDICT_OPTIONS = optionKeys<PredictOptions>()('output');

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
  checkOptions(options, PREDICT_OPTIONS, 'predict');
  const names = Object.keys(model.outputs);
  const output = options.output ?? (names.length === 1 ? names[0]! : fail(`name the output to collect: the model has ${names.length ? quotedList(names) : 'none (compile it with outputs: { … })'}`));
  const out = model.outputs[output] ?? fail(`the model has no output '${output}' (it has ${quotedList(names)})`);
  // The batch dim: the one most inputs begin with (x [N, D] and labels [N] beside a scale [D]).
  const counts = new Map<string, number>();
  for (const i of model.inputs) if (i.batch !== '') counts.set(i.batch, (counts.get(i.batch) ?? 0) + 1);
  const batch = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? fail('the model has no input with a batch dim: call forward() instead');
  const batched = model.inputs.filter((i) => i.batch === batch);
  const size = batched[0]!.shape[0]!;
  if (out.length % size !== 0) fail(`output '${output}' has ${out.length} values, not rows of the batch of ${size} (${batch})`);
  for (const key of Object.keys(feeds)) if (!model.inputs.some((i) => i.name === key)) fail(`unknown feed '${key}': the model is fed ${quotedList(model.inputs.map((i) => i.name))}`);
  // The number of rows: every batched feed given must hold the same whole number of rows.
  let rows: number | undefined;
  for (const input of batched) {
    const v = feeds[input.name];
    if (v === undefined) continue;
    if (typeof v === 'number' || typeof v.length !== 'number' || (v.length > 0 && typeof v[0] !== 'number')) {
      return fail(`feed '${input.name}' must be a flat array of rows of ${rowSize(input.shape)} numbers, row-major`);
    }
    const n = v.length / rowSize(input.shape);
    if (!Number.isInteger(n)) fail(`feed '${input.name}' has ${v.length} values, not a whole number of rows of ${rowSize(input.shape)}`);
    if (rows !== undefined && n !== rows) fail(`feed '${input.name}' has ${n} rows, another batched feed ${rows}`);
    rows = n;
  }
  if (rows === undefined) return fail(`feed the rows to predict: ${quotedList(batched.map((i) => i.name))}`);
  const outRow = out.length / size;
  const result = new (out instanceof Float64Array ? Float64Array : Float32Array)(rows * outRow);
  // One buffer per batched input, reused by every chunk; the others are fed as given.
  const chunk: Record<string, Float64Array | Int32Array | number | Rows> = {};
  for (const input of model.inputs) {
    const { integer } = input;
    const v = feeds[input.name];
    if (integer && v !== undefined && typeof v !== 'number') {
      for (let i = 0; i < v.length; i++) if (!Number.isInteger(v[i])) fail(`feed '${input.name}' must hold integers, but ${input.name}[${i}] is ${v[i]}`);
    }
    if (input.batch === batch) chunk[input.name] = integer ? new Int32Array(size * rowSize(input.shape)) : new Float64Array(size * rowSize(input.shape));
    else chunk[input.name] = feeds[input.name] ?? fail(`feed '${input.name}': it has no batch dim, so predict cannot make it up`);
  }
  // What each chunk copies: the batched feeds given (one left out stays zeros).
  const copies = batched.flatMap((input) => {
    const values = feeds[input.name] as Rows | undefined;
    return values === undefined ? [] : [{ buffer: chunk[input.name] as Float64Array | Int32Array, values, row: rowSize(input.shape) }];
  });
  for (let start = 0; start < rows; start += size) {
    const n = Math.min(size, rows - start);
    for (const { buffer, values, row } of copies) {
      for (let i = 0; i < n * row; i++) buffer[i] = values[start * row + i]!;
      buffer.fill(0, n * row);
    }
    try {
      model.forward(chunk as never);
    } catch (e) {
      // The model's own check names a row of the chunk: say which rows of the caller's it holds.
      throw new FlatgradError(`predict: rows ${start}…${start + n - 1}: ${(e as Error).message}`);
    }
    result.set(out.subarray(0, n * outRow), start * outRow);
  }
  return result;
}
