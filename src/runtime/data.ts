// Minibatches for a training loop, and evaluation over a whole data set.
//
// A compiled model has a fixed batch dim, so every batch handed to it is exactly `batchSize` examples.
// The buffers a batch is written into are allocated once, when the batches are made, and reused for every
// batch: iterating allocates nothing per batch (the iterator and its result object are reused too).
import { checkOptions, FlatgradError, optionKeys } from '../errors/errors.ts';
import { sizeOf } from '../shape/shape.ts';
import type { Model } from './compile.ts';

/** The values in one row (one example) of a batched array of this shape. */
export const rowSize = (shape: readonly number[]): number => sizeOf(shape.slice(1));

/** One entry of a data set: its values, row-major, and its shape; shape[0] is the number of examples. */
export interface DataEntry {
  readonly values: Float32Array | Float64Array | Int32Array | readonly number[];
  readonly shape: readonly number[];
}

/** A data set: entries by feed name (K), all with the same number of examples (shape[0]). */
export type Dataset<K extends string = string> = Readonly<Record<K, DataEntry>>;

/** One batch's buffer: Int32Array for Int32Array data, Float32Array for Float32Array data, Float64Array otherwise (plain arrays keep their float64 values). */
export type BatchBuffer = Float32Array | Float64Array | Int32Array;

/** One batch: a buffer of [batchSize, ...shape.slice(1)] values per entry, by name: feeds a model's step() as they are. */
export type BatchFeeds<K extends string = string> = Readonly<Record<K, BatchBuffer>>;

export interface BatchOptions {
  /** Examples per batch: the model's batch dim. */
  readonly batchSize: number;
  /** Seeds the shuffles (default 0): the same seed gives the same batches, bit for bit. */
  readonly seed?: number;
  /** Shuffle every epoch (default true); false keeps the data's order. */
  readonly shuffle?: boolean;
  /**
   * The last partial batch, when batchSize does not divide the example count:
   * 'drop' (default) skips the remainder this epoch (another epoch's shuffle puts other examples there, so
   * every example is seen over epochs); 'wrap' fills the last batch from the start of the next epoch's
   * order, so every example is seen every epoch and a few twice.
   */
  readonly last?: 'drop' | 'wrap';
}

const BATCH_OPTIONS = optionKeys<BatchOptions>()('batchSize', 'seed', 'shuffle', 'last');

/**
 * A data set cut into minibatches. `for (const feeds of data.epoch(e)) model.step(feeds, lr)`.
 *
 * The feeds yielded are always the same object holding the same buffers (`feeds` below), overwritten by
 * the next batch: copy a batch you want to keep. Nothing is allocated per batch. Iterate one epoch at a
 * time per Batches object (two iterations at once share the buffers).
 */
export interface Batches<K extends string = string> {
  /** Examples in the data set. */
  readonly count: number;
  readonly batchSize: number;
  /** Batches each epoch yields: floor(count / batchSize) with 'drop', ceil(count / batchSize) with 'wrap'. */
  readonly batchesPerEpoch: number;
  /** count % batchSize: the examples a 'drop' epoch skips, or the real examples in a 'wrap' epoch's last batch. */
  readonly remainder: number;
  readonly last: 'drop' | 'wrap';
  /** The buffers every batch is written into. */
  readonly feeds: BatchFeeds<K>;
  /** The batches of epoch k (an integer in [0, 2³²)): its own permutation, the same for the same seed and k. */
  epoch(k: number): IterableIterator<BatchFeeds<K>>;
  /**
   * Every batch of every epoch from batch `fromBatch` of epoch `fromEpoch` on (default 0, 0: resume mid-epoch with both), without end (the lecture's `while True: sample_training_data(data, 256)`):
   * `for (const { epoch, batch, feeds } of data.stream()) { …; if (done) break; }`. The yielded object is reused too.
   */
  stream(fromEpoch?: number, fromBatch?: number): IterableIterator<{ readonly epoch: number; readonly batch: number; readonly feeds: BatchFeeds<K> }>;
}

interface Column {
  readonly name: string;
  readonly src: ArrayLike<number>;
  readonly dst: BatchBuffer;
  /** Values per example. */
  readonly row: number;
  readonly shape: readonly number[];
}

const list = (names: readonly string[]) => names.map((n) => `'${n}'`).join(', ');
const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/** Check a data set; returns its example count and, per entry, its values and values per example. */
function checkData(data: Dataset, who: string): { count: number; entries: { name: string; values: DataEntry['values']; shape: readonly number[]; row: number }[] } {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new FlatgradError(`${who}: data must be an object { name: { values, shape } }, got ${data === null ? 'null' : Array.isArray(data) ? 'an array' : typeof data}`);
  }
  const names = Object.keys(data);
  if (names.length === 0) throw new FlatgradError(`${who}: data has no entries; give { name: { values, shape } } for each feed`);
  const entries = names.map((name) => {
    const e = data[name];
    if (typeof e !== 'object' || e === null) throw new FlatgradError(`${who}: data '${name}' must be { values, shape }, got ${e === null ? 'null' : typeof e}`);
    if (ArrayBuffer.isView(e) || Array.isArray(e)) {
      const what = Array.isArray(e) ? 'an array' : `a ${e.constructor.name}`;
      const got = `${what} of ${(e as ArrayLike<unknown>).length} values`;
      throw new FlatgradError(`${who}: data '${name}' must be { values, shape }, got ${got}; wrap it with its shape: { ${name}: { values: ${name}, shape: [examples, ...] } }`);
    }
    const { values, shape } = e;
    const typed = values instanceof Float32Array || values instanceof Float64Array || values instanceof Int32Array;
    if (!typed && !Array.isArray(values)) throw new FlatgradError(`${who}: data '${name}': values must be a Float32Array, Float64Array, Int32Array or an array of numbers`);
    if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new FlatgradError(`${who}: data '${name}': shape must be [examples, ...] of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    const size = sizeOf(shape);
    if (values.length !== size) throw new FlatgradError(`${who}: data '${name}' has ${values.length} values, but its shape ${fmt(shape)} holds ${size}`);
    return { name, values, shape, row: rowSize(shape) };
  });
  const count = entries[0]!.shape[0]!;
  if (entries.some((e) => e.shape[0] !== count)) {
    throw new FlatgradError(`${who}: the entries hold different numbers of examples (shape[0]): ${entries.map((e) => `'${e.name}' ${e.shape[0]}`).join(', ')}; every entry needs one row per example`);
  }
  if (count === 0) throw new FlatgradError(`${who}: the data has no examples (shape[0] is 0 in ${list(names)})`);
  return { count, entries };
}

function checkBatchSize(batchSize: unknown, count: number, who: string): number {
  if (typeof batchSize !== 'number' || !Number.isSafeInteger(batchSize) || batchSize < 1) throw new FlatgradError(`${who}: batchSize must be a positive integer, got ${String(batchSize)}`);
  if (batchSize > count) throw new FlatgradError(`${who}: batchSize ${batchSize} is more than the ${count} examples of the data`);
  return batchSize;
}

/** The preallocated batch buffers, and copying one example into one row of them. */
class Loader {
  readonly feeds: BatchFeeds;
  private readonly columns: readonly Column[];

  constructor(entries: ReturnType<typeof checkData>['entries'], readonly batchSize: number) {
    this.columns = entries.map(({ name, values, shape, row }) => {
      const size = batchSize * row;
      const dst = values instanceof Int32Array ? new Int32Array(size) : values instanceof Float32Array ? new Float32Array(size) : new Float64Array(size);
      return { name, src: values, dst, row, shape };
    });
    this.feeds = Object.freeze(Object.fromEntries(this.columns.map((c) => [c.name, c.dst])));
  }

  /** Copy example `example` into row `slot` of every buffer. */
  load(slot: number, example: number): void {
    const columns = this.columns;
    for (let c = 0; c < columns.length; c++) {
      const { src, dst, row } = columns[c]!;
      const from = example * row;
      const to = slot * row;
      for (let j = 0; j < row; j++) dst[to + j] = src[from + j]!;
    }
  }

  column(name: string): Column | undefined {
    return this.columns.find((c) => c.name === name);
  }
}

/** A 32-bit seed for epoch k's shuffle, mixed from the user's seed and k (murmur3's finalizer). */
function epochSeed(seed: number, k: number): number {
  let h = (Math.imul(seed ^ 0x3c6ef372, 0x9e3779b1) + Math.imul(k, 0x85ebca6b) + k) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Fisher–Yates: p becomes a uniformly random permutation of 0 … p.length − 1, drawn from mulberry32(seed).
 * The generator is mulberry32's own steps (the same stream as templates/prelude/random.ts) with its state in
 * a local, so that shuffling allocates nothing (a closure's state above 2³¹ is a heap number per draw).
 */
export function shuffleInto(p: Uint32Array, seed: number): void {
  const n = p.length;
  for (let i = 0; i < n; i++) p[i] = i;
  let a = seed >>> 0;
  for (let i = n - 1; i > 0; i--) {
    a = (a + 0x6d2b79f5) >>> 0; // mulberry32
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    const j = Math.floor(u * (i + 1));
    const v = p[i]!;
    p[i] = p[j]!;
    p[j] = v;
  }
}

/** Cut `data` into minibatches of `batchSize` examples: see `Batches` and `BatchOptions`. */
export function batches<K extends string>(data: Dataset<K>, options: BatchOptions): Batches<K> {
  const who = 'batches';
  const { count, entries } = checkData(data, who);
  if (typeof options !== 'object' || options === null) throw new FlatgradError(`${who}: options must be { batchSize, seed?, shuffle?, last? }`);
  checkOptions(options, BATCH_OPTIONS, who);
  const batchSize = checkBatchSize(options.batchSize, count, who);
  const { seed = 0, shuffle = true, last = 'drop' } = options;
  if (!Number.isSafeInteger(seed)) throw new FlatgradError(`${who}: seed must be an integer, got ${String(seed)}`);
  if (shuffle !== true && shuffle !== false) throw new FlatgradError(`${who}: shuffle must be true or false, got ${String(shuffle)}`);
  if (last !== 'drop' && last !== 'wrap') throw new FlatgradError(`${who}: last must be 'drop' or 'wrap', got ${JSON.stringify(last)}`);
  const loader = new Loader(entries, batchSize);
  const remainder = count % batchSize;
  const batchesPerEpoch = last === 'drop' ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);

  // Two permutation buffers, each tagged with the epoch it holds: epoch k's, and k + 1's for a wrapped last batch.
  const perms = shuffle ? [new Uint32Array(count), new Uint32Array(count)] : [];
  const held = [-1, -1];
  const permutation = (k: number): Uint32Array => {
    if (held[0] === k) return perms[0]!;
    if (held[1] === k) return perms[1]!;
    const slot = held[0] === k - 1 ? 1 : 0; // keep the previous epoch's when a wrap may still read it
    shuffleInto(perms[slot]!, epochSeed(seed, k));
    held[slot] = k;
    return perms[slot]!;
  };
  /** Example at position `pos` of epoch k's order; positions past the end read the next epoch's order. */
  const exampleAt = (k: number, pos: number): number => {
    if (pos >= count) return shuffle ? permutation(k + 1)[pos - count]! : pos - count;
    return shuffle ? permutation(k)[pos]! : pos;
  };
  const fill = (k: number, b: number): void => {
    const start = b * batchSize;
    if (shuffle) permutation(k); // so that the wrap's permutation(k + 1) lands in the other buffer
    for (let i = 0; i < batchSize; i++) loader.load(i, exampleAt(k, start + i));
  };
  const checkEpoch = (k: unknown, what: string): number => {
    if (typeof k !== 'number' || !Number.isSafeInteger(k) || k < 0 || k >= 2 ** 32) throw new FlatgradError(`${who}: ${what} must be an integer in [0, 2^32), got ${String(k)}`);
    return k;
  };

  return {
    count,
    batchSize,
    batchesPerEpoch,
    remainder,
    last,
    feeds: loader.feeds,
    epoch(k: number): IterableIterator<BatchFeeds> {
      checkEpoch(k, 'epoch');
      let b = 0;
      const result: IteratorResult<BatchFeeds> = { value: loader.feeds, done: false };
      const end: IteratorResult<BatchFeeds> = { value: undefined, done: true };
      const it: IterableIterator<BatchFeeds> = {
        next() {
          if (b >= batchesPerEpoch) return end;
          fill(k, b++);
          return result;
        },
        [Symbol.iterator]: () => it,
      };
      return it;
    },
    stream(fromEpoch = 0, fromBatch = 0) {
      let k = checkEpoch(fromEpoch, 'stream: fromEpoch');
      if (!Number.isSafeInteger(fromBatch) || fromBatch < 0 || fromBatch >= batchesPerEpoch) {
        throw new FlatgradError(`${who}: stream: fromBatch must be an integer in [0, ${batchesPerEpoch}), got ${String(fromBatch)}`);
      }
      let b = fromBatch;
      const value = { epoch: k, batch: 0, feeds: loader.feeds };
      const result = { value, done: false as const };
      const it = {
        next() {
          if (b >= batchesPerEpoch) {
            b = 0;
            k++;
          }
          fill(k, b);
          value.epoch = k;
          value.batch = b++;
          return result;
        },
        [Symbol.iterator]: () => it,
      };
      return it;
    },
  };
}

/**
 * What evaluate() needs of a model: a compiled Model, or what a generated module's createModel() returns; its inputs,
 * when it lists them, pick and check the feeds. Its forward must return the loss; it is typed to take any feeds,
 * since each generated module's forward takes its own Feeds (as PredictModel's does).
 */
export type EvaluatedModel = Pick<Model, 'outputs'> & Partial<Pick<Model, 'inputs'>> & { forward(feeds: never): number };

export interface EvaluateOptions {
  /** The model's batch dim. Default: the first dim of the model's inputs; required for a model that does not list them. */
  readonly batchSize?: number;
  /** The key of `model.outputs` holding the scores, [batchSize, classes]: gives the accuracy. */
  readonly scores?: string;
  /** The data entry holding the integer labels. Default: the model's one 'i32' input, else the data's one Int32Array entry. */
  readonly labels?: string;
  /** How the model's loss reduces its batch: 'mean' (default: every built-in loss) or 'sum' (e.g. sumOfSquares). */
  readonly reduction?: 'mean' | 'sum';
}

const EVALUATE_OPTIONS = optionKeys<EvaluateOptions>()('batchSize', 'scores', 'labels', 'reduction');

export interface Evaluation {
  /** The mean over all `count` examples of the per-example loss (see evaluate). */
  readonly loss: number;
  /** The fraction of examples whose scores row has its largest value (the first, on ties) at the label. */
  readonly accuracy?: number;
  /** Examples evaluated: every example of the data, once. */
  readonly count: number;
}

/** Rows [0, rows) of a batch whose scores' argmax is the label. */
function correct(scores: Float32Array | Float64Array, labels: BatchBuffer, rows: number, classes: number): number {
  let hits = 0;
  for (let i = 0; i < rows; i++) {
    const at = i * classes;
    let best = 0;
    for (let c = 1; c < classes; c++) if (scores[at + c]! > scores[at + best]!) best = c;
    if (best === labels[i]) hits++;
  }
  return hits;
}

/**
 * Batches 0 … full − 1: adds their losses × perBatch to total[0] and their correct rows to total[1]. The sums
 * live in an array: as locals of this loop, V8 kept them boxed, a new heap number every batch.
 */
function fullBatches(
  model: EvaluatedModel,
  loader: Loader,
  full: number,
  perBatch: number,
  accuracy: { scores: Float32Array | Float64Array; labels: BatchBuffer; classes: number } | undefined,
  total: Float64Array,
): void {
  const B = loader.batchSize;
  const feeds = loader.feeds as never;
  for (let b = 0; b < full; b++) {
    for (let i = 0; i < B; i++) loader.load(i, b * B + i);
    total[0] += model.forward(feeds) * perBatch;
    if (accuracy) total[1] += correct(accuracy.scores, accuracy.labels, B, accuracy.classes);
  }
}

/**
 * Forward only, over every example in order, in batches of the model's batch size. Returns the loss averaged
 * over the examples, and the accuracy when `scores` is given. Nothing is allocated per batch, with one
 * exception: once a process has evaluated models of two different generated modules, V8 stops inlining
 * their forward here and boxes each batch's loss (16 bytes a batch).
 *
 * The loss of a batch is taken to be the mean (`reduction: 'sum'`: the sum) over its rows of a per-example
 * loss, plus anything that does not depend on the batch (a regularizer). The full batches each count as
 * batchSize examples. When batchSize does not divide the count, the r leftover examples are counted exactly,
 * and only once: their batch is run with the r real examples followed by batchSize − r copies of the first of
 * them, e, and one more batch of batchSize copies of e gives e's own loss ℓ_e; the copies' share,
 * (batchSize − r)·ℓ_e, is subtracted, leaving the r real examples' sum. (No example of another batch is
 * wrapped in, so none is counted twice.) The accuracy counts only the r real rows of that batch. So the loss
 * is exactly Σ ℓ_i / count, up to float rounding, at the cost of one extra forward pass.
 */
export function evaluate(model: EvaluatedModel, data: Dataset, options: EvaluateOptions = {}): Evaluation {
  const who = 'evaluate';
  if (typeof model !== 'object' || model === null || typeof model.forward !== 'function') throw new FlatgradError(`${who}: model must be a compiled model (with forward)`);
  const { count, entries: all } = checkData(data, who);
  checkOptions(options, EVALUATE_OPTIONS, who);
  const { scores, reduction = 'mean' } = options;
  if (reduction !== 'mean' && reduction !== 'sum') throw new FlatgradError(`${who}: reduction must be 'mean' or 'sum', got ${JSON.stringify(reduction)}`);

  // The feeds: the model's inputs when it says what they are (other data entries are not fed), else every entry.
  let entries = all;
  let batchSize = options.batchSize;
  if (model.inputs) {
    const missing = model.inputs.filter((i) => !(i.name in data));
    if (missing.length > 0) {
      throw new FlatgradError(`${who}: the model is fed ${list(model.inputs.map((i) => i.name))}, but the data has no ${list(missing.map((i) => i.name))} (it has ${list(Object.keys(data))})`);
    }
    entries = model.inputs.map((i) => all.find((e) => e.name === i.name)!);
    batchSize ??= model.inputs[0]?.shape[0];
    for (const input of model.inputs) {
      const e = entries.find((x) => x.name === input.name)!;
      const row = rowSize(input.shape);
      if (input.shape.length === 0 || input.shape[0] !== batchSize || row !== e.row) {
        const fixed = input.shape[0] !== batchSize ? ' (the batch size is fixed when the model is compiled)' : '';
        const batch = fmt([batchSize ?? 0, ...e.shape.slice(1)]);
        throw new FlatgradError(`${who}: the model's input '${input.name}' has shape ${fmt(input.shape)}, but batches of ${batchSize} of data '${e.name}' ${fmt(e.shape)} would be ${batch}${fixed}`);
      }
    }
  }
  if (batchSize === undefined) throw new FlatgradError(`${who}: give batchSize, the model's batch dim (this model does not list its inputs)`);
  checkBatchSize(batchSize, count, who);
  const B = batchSize;
  const loader = new Loader(entries, B);

  // Accuracy: the scores output [B, C] and the labels column.
  let scoreBuf: Float32Array | Float64Array | undefined;
  let classes = 0;
  let labels: Column | undefined;
  if (scores !== undefined) {
    scoreBuf = model.outputs[scores];
    if (!scoreBuf) {
      const outputs = Object.keys(model.outputs).length ? list(Object.keys(model.outputs)) : 'it has none; compile it with outputs: { scores }';
      throw new FlatgradError(`${who}: scores '${scores}' is not one of the model's outputs (${outputs})`);
    }
    classes = scoreBuf.length / B;
    if (!Number.isInteger(classes) || classes < 1) throw new FlatgradError(`${who}: output '${scores}' has ${scoreBuf.length} values, not [${B}, classes] rows`);
    let name = options.labels;
    if (name === undefined) {
      const ints = model.inputs ? model.inputs.filter((i) => i.integer).map((i) => i.name) : entries.filter((e) => e.values instanceof Int32Array).map((e) => e.name);
      if (ints.length !== 1) throw new FlatgradError(`${who}: give labels, the data entry holding the labels (${ints.length ? `candidates: ${list(ints)}` : 'no integer entry found'})`);
      name = ints[0]!;
    }
    labels = loader.column(name);
    if (!labels) throw new FlatgradError(`${who}: labels '${name}' is not a fed data entry (${list(entries.map((e) => e.name))})`);
    if (labels.row !== 1) throw new FlatgradError(`${who}: labels '${name}' must hold one label per example, but its shape is ${fmt(labels.shape)}`);
  }
  const hitsOf = (rows: number) => (scoreBuf && labels ? correct(scoreBuf, labels.dst, rows, classes) : 0);

  const perBatch = reduction === 'mean' ? B : 1; // batch loss × perBatch = the sum of its per-example losses
  const full = Math.floor(count / B);
  const total = new Float64Array(2);
  fullBatches(model, loader, full, perBatch, scoreBuf && labels ? { scores: scoreBuf, labels: labels.dst, classes } : undefined, total);
  let sum = total[0]!;
  let hits = total[1]!;
  const r = count - full * B;
  if (r > 0) {
    const first = full * B;
    for (let i = 0; i < B; i++) loader.load(i, first); // B copies of e: its own loss
    const own = (model.forward(loader.feeds as never) * perBatch) / B;
    for (let i = 0; i < B; i++) loader.load(i, i < r ? first + i : first);
    sum += model.forward(loader.feeds as never) * perBatch - (B - r) * own;
    hits += hitsOf(r);
  }
  return { loss: sum / count, ...(scoreBuf ? { accuracy: hits / count } : {}), count };
}
