import { flatgrad_error } from './flatgrad_error.ts';

/**
 * A model's params, grads, outputs or state as the user sees them: each name reads the buffer the model computes
 * in, and assigning one throws (the model would go on with its own buffer, and a later checkpoint fail far from
 * the cause): values are copied in with `.set()`. No name can be added.
 */
export function model_buffers<T extends object>(what: string, buffers: T): T {
  const view = {};
  for (const [name, buffer] of Object.entries(buffers)) {
    const set = () => {
      throw flatgrad_error(`model.${what}.${name} cannot be replaced: the model computes in its own buffer; copy values into it with model.${what}.${name}.set(values)`);
    };
    Object.defineProperty(view, name, { enumerable: true, get: () => buffer, set });
  }
  return Object.freeze(view) as T;
}
