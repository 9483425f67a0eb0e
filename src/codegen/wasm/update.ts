import { F32, f32Bits, FunctionBody, I32, V128 } from './encoder.ts';
import { coefficient, type OptimizerPlan } from '../ts/optimizer.ts';

/** A param's buffer, its gradient's and its optimizer state's (by slot name), as byte offsets into the memory. */
export interface UpdateTarget {
  readonly param: number;
  readonly grad: number;
  readonly slots: Readonly<Record<string, number>>;
  /** Floats in the param. */
  readonly size: number;
}

/**
 * `apply_update(lr[, bc1, bc2])`: the optimizer's update of every param, one loop of f32x4 vectors per param
 * doing what src/codegen/ts/optimizer.ts's updateStatements does per element (in the same order of
 * operations, rounding each to f32). The memory plan gives every buffer a 16-byte-aligned slot of whole
 * vectors, so a loop's last vector may run into its buffers' own padding, never into another buffer.
 */
export function updateFunction(plan: OptimizerPlan, targets: readonly UpdateTarget[]): FunctionBody {
  const f = new FunctionBody(plan.counter ? [F32, F32, F32] : [F32]);
  const s = plan.settings;
  const splat = (param: number) => { const l = f.local(V128); f.get(param).f32x4Splat().set(l); return l; };
  const constant = (v: number) => { const l = f.local(V128); f.v128Splat32(f32Bits(coefficient(v))).set(l); return l; };
  const lr = splat(0);
  const [bc1, bc2] = plan.counter ? [splat(1), splat(2)] : [];
  const wd = s.weightDecay as number;
  const decay = wd > 0 ? constant(wd) : undefined;
  const at = f.local(I32);
  const g = f.local(V128), p = f.local(V128), a = f.local(V128), b = f.local(V128);
  /** Pushes local x · local y. */
  const mul = (x: number, y: number) => f.get(x).get(y).f32x4Mul();
  /** Stores the vector computed by `value` at `offset` + at. */
  const store = (offset: number, value: () => void) => { f.get(at); value(); f.v128Store(offset); };

  const k = (() => {
    switch (plan.kind) {
      case 'momentum': return { mu: constant(s.beta as number), negMu: constant(-(s.beta as number)), onePlusMu: constant(1 + (s.beta as number)) };
      case 'rmsprop': return { d: constant(s.decay as number), oneMinusD: constant(1 - (s.decay as number)), eps: constant(s.eps as number) };
      case 'adam':
      case 'adamw': return { b1: constant(s.beta1 as number), oneMinusB1: constant(1 - (s.beta1 as number)), b2: constant(s.beta2 as number), oneMinusB2: constant(1 - (s.beta2 as number)), eps: constant(s.eps as number) };
      default: return {};
    }
  })() as Record<string, number>;

  for (const t of targets) {
    const bytes = Math.ceil(t.size / 4) * 16;
    f.i32Const(0).set(at);
    const loop = f.loop();
    f.get(at).v128Load(t.param).set(p);
    // gi = grad (+ λ·p: L2 weight decay, except AdamW's, which decays the weights directly)
    f.get(at).v128Load(t.grad);
    if (decay !== undefined && plan.kind !== 'adamw') { mul(decay, p); f.f32x4Add(); }
    f.set(g);
    switch (plan.kind) {
      case 'sgd': // p -= lr·gi
        store(t.param, () => { f.get(p); mul(lr, g); f.f32x4Sub(); });
        break;
      case 'momentum': { // v = μ·v − lr·gi; p += v, or Nesterov: p += −μ·v_prev + (1 + μ)·v
        const v = t.slots.velocity!;
        f.get(at).v128Load(v).set(a); // v_prev
        mul(k.mu!, a); mul(lr, g); f.f32x4Sub().set(b); // v
        store(v, () => f.get(b));
        if (s.nesterov) store(t.param, () => { f.get(p); mul(k.negMu!, a); mul(k.onePlusMu!, b); f.f32x4Add().f32x4Add(); });
        else store(t.param, () => { f.get(p).get(b).f32x4Add(); });
        break;
      }
      case 'rmsprop': { // c = d·c + (1 − d)·gi·gi; p -= lr·gi / (√c + ε)
        const c = t.slots.cache!;
        f.get(at).v128Load(c).set(a);
        mul(k.d!, a); mul(k.oneMinusD!, g); f.get(g).f32x4Mul().f32x4Add().set(a);
        store(c, () => f.get(a));
        store(t.param, () => { f.get(p); mul(lr, g); f.get(a).f32x4Sqrt().get(k.eps!).f32x4Add().f32x4Div().f32x4Sub(); });
        break;
      }
      case 'adam':
      case 'adamw': { // m = β1·m + (1 − β1)·gi; v = β2·v + (1 − β2)·gi·gi; p -= lr·(m·bc1) / (√(v·bc2) + ε) (+ lr·λ·p for AdamW)
        const [m, v] = [t.slots.m!, t.slots.v!];
        f.get(at).v128Load(m).set(a);
        mul(k.b1!, a); mul(k.oneMinusB1!, g); f.f32x4Add().set(a);
        store(m, () => f.get(a));
        f.get(at).v128Load(v).set(b);
        mul(k.b2!, b); mul(k.oneMinusB2!, g); f.get(g).f32x4Mul().f32x4Add().set(b);
        store(v, () => f.get(b));
        store(t.param, () => {
          f.get(p);
          f.get(lr); mul(a, bc1!); f.f32x4Mul();
          mul(b, bc2!); f.f32x4Sqrt().get(k.eps!).f32x4Add().f32x4Div();
          if (plan.kind === 'adamw' && decay !== undefined) { mul(lr, decay); f.get(p).f32x4Mul().f32x4Add(); }
          f.f32x4Sub();
        });
        break;
      }
    }
    f.get(at).i32Const(16).i32Add().tee(at).i32Const(bytes).i32LtU().brIf(loop);
    f.end();
  }
  return f;
}

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
