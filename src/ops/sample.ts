// What an op's sample draws: the random graph the registry test gradchecks, and a custom op's default one.
import type { Graph, Tensor } from '../graph/graph.ts';
import { sizeOf } from '../shape/shape.ts';
import type { Rng } from '../../templates/prelude/random.ts';

/** Random operand shapes for the registry's gradcheck: a shape and a broadcast partner. */
export function sampleShapes(rng: Rng): [number[], number[]] {
  const d = () => 1 + Math.floor(rng() * 4);
  const full = [d(), d() + 1, d()];
  const partner = [[], [full[2]!], [full[0]!, 1, full[2]!], [1, full[1]!, 1]][Math.floor(rng() * 4)]!;
  return [full, partner];
}

/** Where a sample draws an operand's values: the gradcheck must stay off kinks and out of poles. */
export type SampleDomain =
  /** uniform in [-2, 2) */
  | 'any'
  /** uniform in [0.5, 1.5) */
  | 'positive'
  /** ±[0.2, 1.2), either sign */
  | 'awayFromZero'
  /** uniform in [min, max) */
  | { readonly min: number; readonly max: number };

/** Params a, b, … with values from their domains, one each; of two or more, a random one gets the broadcast partner's shape. */
export function sampleParams<const D extends readonly SampleDomain[]>(g: Graph, rng: Rng, domains: D): { [K in keyof D]: Tensor } {
  const [full, partner] = sampleShapes(rng);
  const narrow = domains.length === 1 ? -1 : Math.floor(rng() * domains.length);
  return domains.map((d, k) => {
    const shape = k === narrow ? partner : full;
    return g.param('abcd'[k]!, shape, { init: Array.from({ length: sizeOf(shape) }, () => draw(rng, d)) });
  }) as { [K in keyof D]: Tensor };
}

function draw(rng: Rng, d: SampleDomain): number {
  if (d === 'any') return 4 * rng() - 2;
  if (d === 'positive') return 0.5 + rng();
  if (d === 'awayFromZero') return (rng() < 0.5 ? -1 : 1) * (0.2 + rng());
  return d.min + (d.max - d.min) * rng();
}
