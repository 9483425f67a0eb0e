// WebAssembly loops for a conv computed as a matrix product (convAsProduct, src/ir/kernel.ts): im2col of x into
// the columns [K, P], col2im of the columns' gradient back into x's, and the moves between an NCHW tensor
// [N, F, H'·W'] and the rows [F, P] a gemm gives or takes (with the conv's bias and ReLU on the way out). Every
// address is the memory plan's, fixed when the module is made; each function is one thread's share: a range of
// channels (or of taps, for a conv of fewer channels than threads), or of images. Each element is computed as the
// TypeScript loops compute it (typescript/windows.ts), in the same order, so the numbers are the same bit for bit
// on any thread count and without WebAssembly.
import type { ConvKernel, PoolKernel } from '../../ir/kernel.ts';
import { F32, FunctionBody, I32, V128 } from './encoder.ts';

/** [from, to) of a range a share covers. */
export type Range = readonly [number, number];

/** The first output position i whose tap `tap` reads inside x along one axis, and the one past the last. */
function inside(tap: number, [stride, dilation, padding]: readonly [number, number, number], size: number, outs: number): Range {
  const from = Math.min(outs, Math.max(0, Math.ceil((padding - tap * dilation) / stride)));
  return [from, Math.max(from, Math.min(outs, Math.ceil((size + padding - tap * dilation) / stride)))];
}

class Loops {
  readonly f = new FunctionBody([]);
  private readonly counters: number[] = [];
  private depth = 0;

  /** A do-while loop over a fresh counter from `from` to `to` (nothing when empty); body gets the counter's local. */
  repeat(from: number, to: number, body: (counter: number) => void): void {
    if (to <= from) return;
    const f = this.f;
    const v = this.counters[this.depth] ?? (this.counters[this.depth] = f.local(I32));
    this.depth++;
    f.i32Const(from).set(v);
    const top = f.loop();
    body(v);
    f.get(v).i32Const(1).i32Add().tee(v).i32Const(to).i32LtU().brIf(top);
    f.end();
    this.depth--;
  }

  /** `count` floats of zeros from the address in local `at` on, which then points past them. */
  zeros(at: number, count: number): void {
    const zero = this.zero ??= this.f.local(V128);
    this.elements(count, true, [[at, 4]], () => this.f.get(at).get(zero).v128Store(0, 0), () => this.f.get(at).get(zero).v128Store32Lane(0, 0));
  }

  /** A v128 local left at zero (locals start at zero), for zeros(). */
  private zero?: number;

  /** local += bytes. */
  advance(local: number, bytes: number): void {
    if (bytes !== 0) this.f.get(local).i32Const(bytes).i32Add().set(local);
  }

  /**
   * `count` elements, 4 at a time while `vectors` allows, then one at a time: `four` and `one` write one step,
   * each pointer then advances by its bytes per element (`steps`).
   */
  elements(count: number, vectors: boolean, steps: readonly (readonly [number, number])[], four: () => void, one: () => void): void {
    const whole = vectors ? Math.floor(count / 4) : 0;
    this.repeat(0, whole, () => {
      four();
      for (const [p, bytes] of steps) this.advance(p, 4 * bytes);
    });
    this.repeat(0, count - 4 * whole, () => {
      one();
      for (const [p, bytes] of steps) this.advance(p, bytes);
    });
  }
}

/**
 * im2col (`add` false) or col2im (`add` true) for channels [c0, c1) and taps [t0, t1) of each channel's kH·kW, as
 * columnLoops writes them: for each channel, tap and image, the rows of output positions, the padded ones skipped
 * (im2col writes 0 there), those inside x read with a running address.
 */
export function columnsFunction(k: ConvKernel, x: number, columns: number, channels: Range, taps: Range, add: boolean): FunctionBody {
  const L = new Loops();
  const { f } = L;
  const [n, cs, h, w] = k.xShape;
  const [, , kh, kw] = k.wShape;
  const [, , ho, wo] = k.yShape;
  const p = n * ho * wo;
  const [c, dst, src, plane] = [f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  if (add) {
    // This share's channels of x's gradient start at zero, image by image.
    L.repeat(0, n, (b) => {
      f.get(b).i32Const(4 * cs * h * w).i32Mul().i32Const(x + 4 * channels[0] * h * w).i32Add().set(dst);
      L.zeros(dst, (channels[1] - channels[0]) * h * w);
    });
  }
  const skip = (count: number) => {
    if (add) L.advance(dst, 4 * count);
    else L.zeros(dst, count);
  };
  f.i32Const(channels[0]).set(c);
  const channelLoop = f.loop();
  for (let t = taps[0]; t < taps[1]; t++) {
    const [a, e] = [Math.floor(t / kw), t % kw];
    const [i0, i1] = inside(a, [k.stride[0], k.dilation[0], k.padding[0]], h, ho);
    const [j0, j1] = inside(e, [k.stride[1], k.dilation[1], k.padding[1]], w, wo);
    f.get(c).i32Const(4 * kh * kw * p).i32Mul().i32Const(columns + 4 * t * p).i32Add().set(dst);
    L.repeat(0, n, (b) => {
      f.get(b).i32Const(4 * cs * h * w).i32Mul().get(c).i32Const(4 * h * w).i32Mul().i32Add().i32Const(x).i32Add().set(plane);
      skip(i0 * wo);
      L.repeat(i0, i1, (i) => {
        const first = (a * k.dilation[0] - k.padding[0]) * w + j0 * k.stride[1] + e * k.dilation[1] - k.padding[1];
        f.get(i).i32Const(4 * k.stride[0] * w).i32Mul().get(plane).i32Add().i32Const(4 * first).i32Add().set(src);
        skip(j0);
        const contiguous = k.stride[1] === 1;
        const steps = [[src, 4 * k.stride[1]], [dst, 4]] as const;
        if (add) {
          L.elements(j1 - j0, contiguous, steps,
            () => f.get(src).get(src).v128Load(0, 0).get(dst).v128Load(0, 0).f32x4Add().v128Store(0, 0),
            () => f.get(src).get(src).v128Load32Zero(0, 0).get(dst).v128Load32Zero(0, 0).f32x4Add().v128Store32Lane(0, 0));
        } else {
          L.elements(j1 - j0, contiguous, steps, () => f.get(dst).get(src).v128Load(0, 0).v128Store(0, 0), () => f.get(dst).get(src).v128Load32Zero(0, 0).v128Store32Lane(0, 0));
        }
        skip(wo - j1);
      });
      skip((ho - i1) * wo);
    });
  }
  f.get(c).i32Const(1).i32Add().tee(c).i32Const(channels[1]).i32LtU().brIf(channelLoop);
  f.end();
  return f;
}

/**
 * Images [n0, n1) between the tensor [N, F, H'·W'] and the rows [F, P]: into the rows (`toRows`, a gradient), or
 * out of them with the bias (`bias`, a float address) and ReLU, as rowLoops writes them.
 */
export function rowsFunction(k: ConvKernel, tensor: number, rows: number, images: Range, toRows: boolean, bias?: number, relu?: boolean): FunctionBody {
  const L = new Loops();
  const { f } = L;
  const [n, ch, ho, wo] = k.yShape;
  const hw = ho * wo;
  const [from, to, b, zero] = [f.local(I32), f.local(I32), f.local(V128), f.local(V128)];
  L.repeat(images[0], images[1], (image) => {
    L.repeat(0, ch, (channel) => {
      const [t, r] = toRows ? [from, to] : [to, from];
      f.get(image).i32Const(4 * ch * hw).i32Mul().get(channel).i32Const(4 * hw).i32Mul().i32Add().i32Const(tensor).i32Add().set(t);
      f.get(channel).i32Const(4 * n * hw).i32Mul().get(image).i32Const(4 * hw).i32Mul().i32Add().i32Const(rows).i32Add().set(r);
      if (bias !== undefined) f.get(channel).i32Const(4).i32Mul().i32Const(bias).i32Add().v128Load32Splat(0, 0).set(b);
      const value = (load: () => void) => {
        load();
        if (bias !== undefined) f.get(b).f32x4Add();
        if (relu) f.get(zero).f32x4Max();
      };
      L.elements(hw, true, [[from, 4], [to, 4]], () => {
        f.get(to);
        value(() => f.get(from).v128Load(0, 0));
        f.v128Store(0, 0);
      }, () => {
        f.get(to);
        value(() => f.get(from).v128Load32Zero(0, 0));
        f.v128Store32Lane(0, 0);
      });
    });
  });
  return f;
}

/**
 * Max pooling (a `pool` kernel of op 'max') for planes [p0, p1) of its N·C: each window's first maximum in
 * `argmaxOf` (a NaN wins, the last one), as poolLoops finds it; writing y, `from`'s element there (−∞ for a window
 * with none); writing x, each window's value of `from` added there (this share's planes zeroed first).
 */
export function maxPoolFunction(k: PoolKernel, offsets: { out: number; from: number; argmaxOf: number }, planes: Range): FunctionBody {
  const L = new Loops();
  const { f } = L;
  const [, , h, w] = k.xShape;
  const [, , ho, wo] = k.yShape;
  const [xPlane, yPlane, at, best, v, row, col, o] = [f.local(I32), f.local(I32), f.local(I32), f.local(F32), f.local(F32), f.local(I32), f.local(I32), f.local(I32)];
  const back = k.writes === 'x';
  const window = { out: k.writes === 'y' ? offsets.out : offsets.from, dx: offsets.out };
  L.repeat(planes[0], planes[1], (plane) => {
    f.get(plane).i32Const(4 * h * w).i32Mul().set(xPlane);
    f.get(plane).i32Const(4 * ho * wo).i32Mul().set(yPlane);
    if (back) {
      f.get(xPlane).i32Const(offsets.out).i32Add().set(o);
      L.zeros(o, h * w);
    }
    L.repeat(0, ho, (i) => {
      L.repeat(0, wo, (j) => {
        f.i32Const(-1).set(at).f32Const(-Infinity).set(best);
        for (let a = 0; a < k.kernel[0]; a++) {
          for (let e = 0; e < k.kernel[1]; e++) {
            const skip = f.block();
            f.get(i).i32Const(k.stride[0]).i32Mul().i32Const(a * k.dilation[0] - k.padding[0]).i32Add().set(row);
            f.get(j).i32Const(k.stride[1]).i32Mul().i32Const(e * k.dilation[1] - k.padding[1]).i32Add().set(col);
            // Outside x (unsigned: a negative index is large): the padding, skipped.
            if (k.padding[0] > 0) f.get(row).i32Const(h).i32LtU().i32Eqz().brIf(skip);
            if (k.padding[1] > 0) f.get(col).i32Const(w).i32LtU().i32Eqz().brIf(skip);
            f.get(row).i32Const(w).i32Mul().get(col).i32Add().i32Const(4).i32Mul().set(row); // the element's byte offset in its plane
            f.get(row).get(xPlane).i32Add().i32Const(offsets.argmaxOf).i32Add().f32Load(0, 0).set(v);
            // at < 0 || v > best || v is NaN: take it
            f.get(at).i32Const(0).i32LtS().get(v).get(best).f32Gt().i32Or().get(v).get(v).f32Ne().i32Or().set(col);
            f.get(v).get(best).get(col).select().set(best);
            f.get(row).get(at).get(col).select().set(at);
            f.end();
          }
        }
        const yAt = () => f.get(i).i32Const(wo).i32Mul().get(j).i32Add().i32Const(4).i32Mul().get(yPlane).i32Add();
        const found = f.block();
        if (back) {
          f.get(at).i32Const(0).i32LtS().brIf(found);
          f.get(at).get(xPlane).i32Add().i32Const(window.dx).i32Add().tee(o);
          f.get(o).f32Load(0, 0);
          yAt().i32Const(window.out).i32Add().f32Load(0, 0);
          f.f32Add().f32Store(0, 0);
        } else {
          yAt().i32Const(offsets.out).i32Add();
          if (offsets.from === offsets.argmaxOf) f.get(best);
          else {
            // −∞ where the window holds nothing; else from's element at the maximum
            f.f32Const(-Infinity);
            f.i32Const(0).get(at).get(at).i32Const(0).i32LtS().select().get(xPlane).i32Add().i32Const(offsets.from).i32Add().f32Load(0, 0);
            f.get(at).i32Const(0).i32LtS().select();
          }
          f.f32Store(0, 0);
        }
        f.end();
      });
    });
  });
  return f;
}
