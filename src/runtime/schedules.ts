// The lecture's learning-rate schedules: functions of the step (or epoch) t that give the rate to pass to
// step(feeds, lr). The rate is a runtime value, so a schedule never recompiles anything.
import { FlatgradError } from '../errors/errors.ts';

export type Schedule = (t: number) => number;

function positive(what: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new FlatgradError(`${what} must be a positive number, got ${v}`);
  return v;
}

/** Step decay: α₀, multiplied by `factor` (e.g. 0.1) at each of the given epochs. */
export function stepDecay(lr0: number, at: readonly number[], factor = 0.1): Schedule {
  positive('stepDecay: lr0', lr0);
  return (t) => lr0 * factor ** at.filter((e) => t >= e).length;
}

/** Cosine: α_t = ½ α₀ (1 + cos(tπ/T)). */
export function cosine(lr0: number, total: number): Schedule {
  positive('cosine: lr0', lr0);
  positive('cosine: total', total);
  return (t) => 0.5 * lr0 * (1 + Math.cos((Math.min(t, total) * Math.PI) / total));
}

/** Linear: α_t = α₀ (1 − t/T). */
export function linear(lr0: number, total: number): Schedule {
  positive('linear: lr0', lr0);
  positive('linear: total', total);
  return (t) => lr0 * (1 - Math.min(t, total) / total);
}

/** Inverse square root: α_t = α₀ / √t (t counted from 1). */
export function inverseSqrt(lr0: number): Schedule {
  positive('inverseSqrt: lr0', lr0);
  return (t) => lr0 / Math.sqrt(Math.max(t, 1));
}

/** Linear warmup from 0 over `steps`, then the schedule (which sees t − steps). */
export function warmup(steps: number, schedule: Schedule): Schedule {
  positive('warmup: steps', steps);
  return (t) => (t < steps ? (schedule(0) * (t + 1)) / steps : schedule(t - steps));
}
