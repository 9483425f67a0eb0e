import { F32, FunctionBody, I32, V128 } from './encoder.ts';

/** A param's buffer and its gradient's, as byte offsets into the memory, and its length in floats. */
export interface UpdateTarget {
  readonly param: number;
  readonly grad: number;
  readonly size: number;
}

/**
 * `sgd(lr)`: p -= lr · grad_p for every param, four floats at a time. The memory plan gives every buffer a
 * 16-byte-aligned slot of whole vectors, so the last vector may run into the param's own padding, never
 * into another buffer.
 */
export function sgdFunction(targets: readonly UpdateTarget[]): FunctionBody {
  const f = new FunctionBody([F32]);
  const rate = f.local(V128);
  const at = f.local(I32);
  f.get(0).f32x4Splat().set(rate);
  for (const { param, grad, size } of targets) {
    const bytes = Math.ceil(size / 4) * 16;
    f.i32Const(0).set(at);
    const loop = f.loop();
    f.get(at); // where to store
    f.get(at).v128Load(param);
    f.get(rate).get(at).v128Load(grad).f32x4Mul();
    f.f32x4Sub().v128Store(param);
    f.get(at).i32Const(16).i32Add().tee(at).i32Const(bytes).i32LtU().brIf(loop);
    f.end();
  }
  return f;
}
