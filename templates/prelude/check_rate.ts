import { flatgrad_error } from './flatgrad_error.ts';

/**
 * A learning rate that is not a finite number would corrupt every param, and a negative one climbs the loss:
 * refuse both before anything runs. 0 is allowed (the params stay as they are): linear and cosine schedules end there.
 */
export function check_rate(lr: unknown): void {
  if (typeof lr === 'number' && Number.isFinite(lr) && lr >= 0) return;
  const got = typeof lr === 'string' ? `the string '${lr}'` : typeof lr === 'number' ? String(lr) : typeof lr;
  throw flatgrad_error(`the learning rate must be a finite number ≥ 0, got ${got}${typeof lr === 'number' && lr < 0 ? ' (a negative rate climbs the loss)' : ''}`);
}
