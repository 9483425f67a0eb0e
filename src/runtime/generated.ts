/** A feed's values: flat in row-major order, or nested to its shape. */
export type FeedValues = ArrayLike<number> | readonly FeedValues[];

/** A feed: a number for a scalar input, else its values. */
export type FeedValue = number | FeedValues;

/**
 * One input, as a model's `inputs` list it: its generated module's own entry (FEEDS, of the prelude's Feed type, which
 * check_feeds reads), whether createModel() or compile() made the model; for a WebGPU model, the same made by compile().
 */
export interface InputSpec {
  readonly name: string;
  /** Its shape with dims bound; [] for a number. */
  readonly shape: readonly number[];
  /** The dim its first axis was declared with ('N': the batch), or '' for none. */
  readonly batch: string;
  /** Integers only (an 'i32' input: labels, indices). */
  readonly integer: boolean;
  /** An index's values lie in [0, bound); 0 for any other input. Every model has it; a generated module's Model type leaves it out. */
  readonly bound?: number;
}

/**
 * What every generated module's createModel() returns, whatever its graph: the type a `?flatgrad` import has when
 * its own (the module's exact Model) is not at hand (src/build/client.d.ts).
 */
export interface GeneratedModel {
  readonly params: Readonly<Record<string, Float32Array | Float64Array>>;
  readonly grads: Readonly<Record<string, Float32Array | Float64Array>>;
  readonly outputs: Readonly<Record<string, Float32Array | Float64Array>>;
  readonly state: Readonly<Record<string, Float32Array | Float64Array>>;
  readonly shapes: Readonly<Record<string, readonly number[]>>;
  readonly inputs: readonly InputSpec[];
  readonly kernels: string;
  /** The loss (undefined for a module without one: read its outputs). */
  forward(feeds: Readonly<Record<string, FeedValue>>): number | undefined;
  backward(): void;
  step(feeds: Readonly<Record<string, FeedValue>>, lr: number): number;
  /** The worker threads beside the calling one (none without threads). */
  readonly workers: readonly { terminate(): unknown }[];
  /** Resolves once the workers have started. */
  ready(): Promise<void>;
  /** Ends the worker threads. */
  dispose(): void;
}

/** A generated module: `createModel({ seed })` makes a model with its own memory. */
export type CreateModel = (options?: { seed?: number; simd?: boolean }) => GeneratedModel;
