import { flatgrad_error } from './flatgrad_error.ts';

/** With checkFinite: stop at the first node whose value is NaN or ±Infinity, naming it and where it was built. */
export function check_finite(values: Float32Array | number, node: string, made: string): void {
  if (typeof values === 'number') {
    if (!Number.isFinite(values)) throw flatgrad_error(`non-finite value ${values} in '${node}', produced by ${made}`);
    return;
  }
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw flatgrad_error(`non-finite value ${values[i]} at ${node}[${i}], produced by ${made}`);
  }
}
