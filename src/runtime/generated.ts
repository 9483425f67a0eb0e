/** A feed's values: flat in row-major order, or nested to its shape. */
export type FeedValues = ArrayLike<number> | readonly FeedValues[];

/** A feed: a number for a scalar input, else its values. */
export type FeedValue = number | FeedValues;

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
  readonly inputs: readonly { readonly name: string; readonly shape: readonly number[]; readonly batch: string; readonly integer: boolean }[];
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
