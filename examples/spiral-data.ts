// The lecture's spiral data (CS231n's, ConvNetJS's classify2d): K classes of `perClass` 2-D points on arms of a
// spiral, r = linspace(0, 1), t = linspace(4j, 4(j + 1)) + 0.2·randn. Seeded: the same points everywhere.
import { mulberry32, randn } from 'flatgrad/runtime';

export interface Spiral {
  /** [N, 2] row-major points. */
  readonly x: Float32Array;
  /** [N] class of each point. */
  readonly labels: Int32Array;
  readonly n: number;
  readonly classes: number;
}

export function spiral(perClass = 100, classes = 3, seed = 0): Spiral {
  const rng = mulberry32(seed);
  const n = perClass * classes;
  const x = new Float32Array(n * 2);
  const labels = new Int32Array(n);
  for (let j = 0; j < classes; j++) {
    for (let i = 0; i < perClass; i++) {
      const r = i / (perClass - 1);
      const t = 4 * j + (4 * i) / (perClass - 1) + 0.2 * randn(rng);
      const ix = j * perClass + i;
      x[2 * ix] = r * Math.sin(t);
      x[2 * ix + 1] = r * Math.cos(t);
      labels[ix] = j;
    }
  }
  return { x, labels, n, classes };
}

/** The class with row i's largest score (the first, on a tie). */
export function argmaxRow(scores: ArrayLike<number>, i: number, classes: number): number {
  let best = 0;
  for (let c = 1; c < classes; c++) if (scores[i * classes + c]! > scores[i * classes + best]!) best = c;
  return best;
}

/** How many rows' largest score is at their label. */
export function accuracy(scores: ArrayLike<number>, labels: ArrayLike<number>, classes: number): number {
  let hits = 0;
  for (let i = 0; i < labels.length; i++) if (argmaxRow(scores, i, classes) === labels[i]) hits++;
  return hits / labels.length;
}

/** The centers of a cells × cells grid over [−extent, extent]², (x, y) pairs row by row from the top (y = +extent) down. */
export function gridCenters(cells: number, extent: number): Float32Array {
  const grid = new Float32Array(cells * cells * 2);
  for (let r = 0; r < cells; r++) {
    for (let c = 0; c < cells; c++) {
      grid[2 * (r * cells + c)] = -extent + ((c + 0.5) * 2 * extent) / cells;
      grid[2 * (r * cells + c) + 1] = extent - ((r + 0.5) * 2 * extent) / cells;
    }
  }
  return grid;
}
