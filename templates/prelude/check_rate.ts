import { flatgrad_error } from './flatgrad_error.ts';

/** A learning rate that is not a finite number would corrupt every param: refuse it before anything runs. */
export function check_rate(lr: unknown): void {
  if (typeof lr === 'number' && Number.isFinite(lr)) return;
  const got = typeof lr === 'string' ? `the string '${lr}'` : typeof lr === 'number' ? String(lr) : typeof lr;
  throw flatgrad_error(`the learning rate must be a finite number, got ${got}`);
}
