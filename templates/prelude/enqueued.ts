import { flatgrad_error } from './flatgrad_error.ts';

/** What a WebGPU model's step() returns: not its loss, which the GPU has yet to compute (`await model.loss()` reads it). */
export interface Enqueued {
  readonly enqueued: true;
}

/** step()'s one result: used as a number or a string (a loss printed or compared), it throws saying where the loss is. */
export const ENQUEUED: Enqueued = Object.freeze({
  enqueued: true as const,
  [Symbol.toPrimitive](): never {
    throw flatgrad_error("a WebGPU model's step() enqueues the step and returns at once, before the GPU has its loss: read the loss with await model.loss()");
  },
});
