/** A feed's values: flat in row-major order, or nested to its shape. */
export type FeedValues = ArrayLike<number> | readonly FeedValues[];

/** A feed: a number for a scalar input, else its values. */
export type FeedValue = number | FeedValues;

/**
 * One input, as a model's `inputs` list it: its generated module's own entry (FEEDS, of the prelude's Feed type, which
 * check_feeds reads), whether createModel() or compile() made the model; a WebGPU model's, the same list (src/codegen/host/module.ts, feedSpecs).
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

export type FloatBuffer = Float32Array | Float64Array;

/** What forward and step take: a number or values per input, by name. */
export type Feeds = Readonly<Record<string, FeedValue>>;

/** Buffers by name: each of `K` is there (no `| undefined` under noUncheckedIndexedAccess), and any name may be looked up. */
export type Buffers<K extends string> = Readonly<Record<K, FloatBuffer>> & Readonly<Record<string, FloatBuffer>>;

/**
 * What a generated module's createModel() returns, whatever its graph: the type a `?flatgrad` import has when its
 * own (the module's exact Model, with every name) is not at hand (src/build/client.d.ts), and with its source
 * compile()'s Model. `P` names the params (and anything else in wrt) and `O` the outputs, so that `model.params.w1`
 * is a buffer rather than a buffer or undefined. Assigning a buffer (`model.params.w1 = …`) throws: copy values in
 * with `model.params.w1.set(values)`.
 */
export interface GeneratedModel<P extends string = string, O extends string = string> {
  readonly params: Buffers<P>;
  readonly grads: Buffers<P>;
  readonly outputs: Buffers<O>;
  /** Runs the forward pass; returns the loss (undefined without one: read the outputs). */
  forward(feeds: Feeds): number;
  /** Fills grads from the values of the last forward pass (an error before any). */
  backward(): void;
  /** forward, backward, then the optimizer's update of every param (default plain SGD). Returns the loss. */
  step(feeds: Feeds, lr: number): number;
  /** The optimizer's buffers (Adam's m_w and v_w, and its step_count; momentum's velocity_w; …). */
  readonly state: Readonly<Record<string, FloatBuffer>>;
  /** The shape of every param and state buffer, by the same names. */
  readonly shapes: Readonly<Record<string, readonly number[]>>;
  /** What runs the matmuls, large loops and the update: 'wasm-relaxed-simd', 'wasm-simd' or 'typescript'. */
  readonly kernels: string;
  /** What forward needs fed, with shapes bound. */
  readonly inputs: readonly InputSpec[];
  /** The worker threads beside the calling one (none with one thread, or where threads cannot be had). */
  readonly workers: readonly { terminate(): unknown }[];
  /** Resolves once the workers have started (until then the calling thread does their shares); at once without workers. */
  ready(): Promise<void>;
  /** Ends the worker threads (the model then runs on the calling thread); nothing to do without workers. */
  dispose(): void;
}

/** A generated module: `createModel({ seed, simd, threads })` makes a model with its own memory. */
export type CreateModel = (options?: { seed?: number; simd?: boolean; threads?: number }) => GeneratedModel;
