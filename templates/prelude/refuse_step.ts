import { flatgrad_error } from './flatgrad_error.ts';

/**
 * step() found a non-finite loss or gradient before the update, which would make every param it reaches NaN:
 * it names the first non-finite value among the feeds, params, loss and gradients, in that order, and changes nothing.
 */
export function refuse_step(values: readonly ArrayLike<number>[], names: readonly string[], what: readonly string[]): never {
  for (let k = 0; k < values.length; k++) {
    const v = values[k]!;
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i])) {
        const at = v.length === 1 ? `is ${v[i]}` : `holds ${v[i]} at ${names[k]}[${i}]`;
        throw flatgrad_error(`step: ${what[k]} ${at}, so the update would make the params non-finite; nothing was changed (compile with checkFinite: true to stop at the node that first makes a non-finite value)`);
      }
    }
  }
  throw flatgrad_error('step: a non-finite loss or gradient, so nothing was changed');
}
