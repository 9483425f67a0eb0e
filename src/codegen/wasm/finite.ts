// step()'s guard in Wasm: whether the loss and every gradient are finite, in one pass over their floats.
import { F32, FunctionBody, I32, V128 } from './encoder.ts';

/**
 * `step_finite() → i32`: 1 when every float of the buffers is finite, else 0. A sum of x · 0, which stays 0 for
 * finite x and becomes NaN at the first NaN or ±Infinity: four f32x4 sums side by side over blocks of 16
 * floats (so no add waits for the one before), one over the remaining whole vectors, then the last 1–3 floats
 * one by one (a buffer's padding may hold anything, so it is not read).
 */
export function finiteFunction(buffers: readonly { readonly offset: number; readonly size: number }[]): FunctionBody {
  const f = new FunctionBody([], [I32]);
  const accs = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const zero = f.local(V128), at = f.local(I32), tail = f.local(F32);
  const sum = (acc: number, offset: number) => f.get(acc).get(at).v128Load(offset).get(zero).f32x4Mul().f32x4Add().set(acc);
  const loop = (from: number, to: number, step: number, body: () => void) => {
    if (to <= from) return;
    f.i32Const(from).set(at);
    const top = f.loop();
    body();
    f.get(at).i32Const(step).i32Add().tee(at).i32Const(to).i32LtU().brIf(top);
    f.end();
  };
  f.v128Const().set(zero);
  for (const acc of accs) f.v128Const().set(acc);
  f.f32Const(0).set(tail);
  for (const b of buffers) {
    const blocks = Math.floor(b.size / 16) * 64;
    const vectors = Math.floor(b.size / 4) * 16;
    loop(0, blocks, 64, () => accs.forEach((acc, k) => sum(acc, b.offset + 16 * k)));
    loop(blocks, vectors, 16, () => sum(accs[0]!, b.offset));
    for (let i = vectors / 4; i < b.size; i++) f.get(tail).i32Const(0).f32Load(b.offset + 4 * i).f32Const(0).f32Mul().f32Add().set(tail);
  }
  // Finite everywhere: every lane of the sums, and the tail, equals itself (NaN does not).
  f.get(accs[0]!).get(accs[1]!).f32x4Add().get(accs[2]!).get(accs[3]!).f32x4Add().f32x4Add().set(accs[0]!);
  f.get(accs[0]!).get(accs[0]!).f32x4Eq().i32x4AllTrue();
  f.get(tail).get(tail).f32Eq().i32And();
  return f;
}
