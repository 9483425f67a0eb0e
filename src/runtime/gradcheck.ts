import { checkOptions, FlatgradError, optionKeys } from '../errors/errors.ts';
import type { Graph, Tensor } from '../graph/graph.ts';
import { userSite } from '../errors/source.ts';
import { sizeOf } from '../shape/shape.ts';
import { mulberry32, randn } from '../../templates/prelude/random.ts';
import { compile, type CompileOptions, type Feeds } from './compile.ts';
import type { FeedValue, FeedValues } from './generated.ts';

export interface GradcheckResult {
  /** Worst error per param (or input) checked: |analytic - numeric| / max(1, |analytic|, |numeric|). */
  readonly errors: Readonly<Record<string, number>>;
  /** The largest of them. */
  readonly maxError: number;
}

export interface GradcheckOptions extends Pick<CompileOptions, 'dtype' | 'wasm'> {
  readonly loss: Tensor;
  readonly wrt?: readonly Tensor[];
  readonly dims?: Readonly<Record<string, number>>;
  readonly feeds?: Feeds;
  readonly seed?: number;
  readonly eps?: number;
}

const GRADCHECK_OPTIONS = optionKeys<GradcheckOptions>()('loss', 'wrt', 'dims', 'feeds', 'seed', 'eps', 'dtype', 'wasm');

/**
 * Compare the compiled gradients with central differences of the compiled loss: in f64 by default (eps 1e-6),
 * or in f32 (eps 1e-3: f32's rounding would swamp a smaller step) on the TypeScript or Wasm backend.
 * Feeds not given are standard normal; params start from their init with `seed`.
 */
export async function gradcheck(g: Graph, options: GradcheckOptions): Promise<GradcheckResult> {
  checkOptions(options, GRADCHECK_OPTIONS, 'gradcheck', userSite());
  const { loss, dtype = 'f64', wasm, seed = 0 } = options;
  const eps = options.eps ?? (dtype === 'f32' ? 1e-3 : 1e-6);
  const wrt = options.wrt ?? g.params();
  const model = await compile(g, { loss, wrt, dims: options.dims, dtype, wasm, seed });
  const rng = mulberry32(seed + 1);
  const feeds: Record<string, FeedValue> = { ...options.feeds };
  for (const { name, shape, integer, bound = 0 } of model.inputs) {
    if (name in feeds) continue;
    if (integer && bound === 0) throw new FlatgradError(`gradcheck: integer input '${name}' needs a feed`);
    // Indices are drawn uniformly from their range; floats from a standard normal.
    const draw = integer ? () => Math.floor(rng() * bound) : () => randn(rng);
    feeds[name] = shape.length === 0 ? draw() : Array.from({ length: sizeOf(shape) }, draw);
  }
  model.forward(feeds);
  model.backward();
  const errors: Record<string, number> = {};
  for (const w of wrt) {
    const analytic = model.grads[w.name]!.slice();
    const isParam = w.op === 'param';
    // Perturb one element of a param buffer, or of a copy of the feed.
    const values: { length: number; [i: number]: number } = isParam ? model.params[w.name]! : typeof feeds[w.name] === 'number' ? [feeds[w.name] as number] : flatten(feeds[w.name] as FeedValues);
    const lossAt = (i: number, x: number) => {
      values[i] = x;
      if (!isParam) feeds[w.name] = typeof feeds[w.name] === 'number' ? values[0]! : (values as number[]);
      return model.forward(feeds);
    };
    let worst = 0;
    for (let i = 0; i < values.length; i++) {
      const x = values[i]!;
      const numeric = (lossAt(i, x + eps) - lossAt(i, x - eps)) / (2 * eps);
      lossAt(i, x);
      const a = analytic[i]!;
      worst = Math.max(worst, Math.abs(a - numeric) / Math.max(1, Math.abs(a), Math.abs(numeric)));
    }
    errors[w.name] = worst;
  }
  return { errors, maxError: Math.max(0, ...Object.values(errors)) };
}

/** A feed's values in row-major order, nested or not. */
function flatten(v: FeedValues): number[] {
  return Array.isArray(v) ? (v as readonly FeedValues[]).flatMap((x) => (typeof x === 'number' ? [x] : flatten(x))) : Array.from(v as ArrayLike<number>);
}
