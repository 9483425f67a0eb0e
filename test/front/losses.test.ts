// Losses, softmax and friends, and max/min reductions, against numbers worked out by hand.
// Every expected value below is a literal. They were computed once with python3 using only `math`
// (the snippet is next to each block), never with flatgrad, so these tests do not share a code path
// with what they check.
import { describe, expect, it } from 'vitest';
import { expectClose } from '../support/helpers.ts';
import { compile, graph, l1, l2, type Feeds, type Graph, type Tensor } from '../../src/index.ts';

type DType = 'f32' | 'f64';

interface Built {
  loss?: Tensor;
  wrt?: Tensor[];
  outputs?: Record<string, Tensor>;
}

/** Build a graph, compile it in `dtype`, run forward (and backward when there is a loss). */
async function run(dtype: DType, build: (g: Graph) => Built, feeds: Feeds, dims: Record<string, number> = {}) {
  const g = graph('losses');
  const { loss, wrt, outputs } = build(g);
  const model = await compile(g, { loss, wrt, outputs, dims, dtype });
  const value = model.forward(feeds);
  if (loss) model.backward();
  return { value, grads: model.grads, outputs: model.outputs };
}

// The CS231n example: three images (cat, car, frog), their scores for the classes cat, car, frog.
const scores = [3.2, 5.1, -1.7, 1.3, 4.9, 2.0, 2.2, 2.5, -3.1];
const labels = [0, 1, 2];

const scoresGraph = (kind: 'softmax' | 'svm') => (g: Graph): Built => {
  const s = g.input('s', ['N', 3]);
  const y = g.input('y', ['N'], 'i32');
  const loss = (kind === 'softmax' ? s.softmaxCrossEntropy(y) : s.svmLoss(y)).named('loss');
  return { loss, wrt: [s] };
};

describe.each(['f64', 'f32'] as const)('losses in %s', (dtype) => {
  it('softmaxCrossEntropy: the lecture example, L = mean of -log(e^{s_y} / sum_j e^{s_j}); gradient (softmax - onehot) / N', async () => {
    // python3 -c "import math
    // S=[[3.2,5.1,-1.7],[1.3,4.9,2.0],[2.2,2.5,-3.1]]; Y=[0,1,2]
    // L=[math.log(sum(math.exp(v) for v in s))-s[y] for s,y in zip(S,Y)]; print(L, sum(L)/3)
    // print([[(math.exp(v)/sum(math.exp(u) for u in s)-(j==y))/3 for j,v in enumerate(s)] for s,y in zip(S,Y)])"
    // Per example: 2.0403551528001698, 0.07913177829134899, 6.156477201664211 (the lecture's 2.04, 0.079, 6.156).
    const { value, grads } = await run(dtype, scoresGraph('softmax'), { s: scores, y: labels }, { N: 3 });
    // (2.0403551528001698 + 0.07913177829134899 + 6.156477201664211) / 3
    expectClose(dtype, value, 2.758654710918577, 'loss');
    expectClose(dtype, grads.s!, [
      -0.29000582032760897, 0.28968317840275537, 0.0003226419248536814,
      0.008414961159646567, -0.025360611978143727, 0.016945650818497176,
      0.1415518086089139, 0.19107495557905507, -0.33262676418796894,
    ], 'grad s');
  });

  it('softmaxCrossEntropy of one example is that example\'s loss (the lecture\'s 0.079 for the car)', async () => {
    const { value, grads } = await run(dtype, scoresGraph('softmax'), { s: [1.3, 4.9, 2.0], y: [1] }, { N: 1 });
    expectClose(dtype, value, 0.07913177829134899, 'loss');
    // softmax - onehot, N = 1: three times the second row above.
    expectClose(dtype, grads.s!, [0.025244883478939707, -0.07608183593443119, 0.05083695245549154], 'grad s');
  });

  it('svmLoss: the lecture example, losses 2.9, 0, 12.9, mean 5.27; gradient counts positive margins', async () => {
    // cat:  max(0, 5.1 - 3.2 + 1) + max(0, -1.7 - 3.2 + 1) = 2.9 + 0
    // car:  max(0, 1.3 - 4.9 + 1) + max(0, 2.0 - 4.9 + 1) = 0 + 0
    // frog: max(0, 2.2 + 3.1 + 1) + max(0, 2.5 + 3.1 + 1) = 6.3 + 6.6 = 12.9
    // mean: 15.8 / 3 = 5.266666666666667
    const { value, grads } = await run(dtype, scoresGraph('svm'), { s: scores, y: labels }, { N: 3 });
    expectClose(dtype, value, 5.266666666666667, 'loss');
    // Each positive margin j adds +1/N at j and -1/N at the label: cat has one (car), car none, frog two.
    const third = 1 / 3;
    expectClose(dtype, grads.s!, [-third, third, 0, 0, 0, 0, third, third, -2 * third], 'grad s');
  });

  it('svmLoss with another margin', async () => {
    // margin 3: cat: max(0, 1.9 + 3) + max(0, -4.9 + 3) = 4.9; car: max(0, -3.6 + 3) + max(0, -2.9 + 3) = 0.1;
    // frog: 5.3 + 3 + 5.6 + 3 = 16.9. Mean (4.9 + 0.1 + 16.9) / 3 = 7.3.
    const { value, grads } = await run(dtype, (g) => {
      const s = g.input('s', ['N', 3]);
      return { loss: s.svmLoss(g.input('y', ['N'], 'i32'), 3), wrt: [s] };
    }, { s: scores, y: labels }, { N: 3 });
    expectClose(dtype, value, 7.3, 'loss');
    const third = 1 / 3;
    expectClose(dtype, grads.s!, [-third, third, 0, 0, -third, third, third, third, -2 * third], 'grad s');
  });

  it('meanSquaredError and sumOfSquares: value and gradient 2(p - t)/count, 2(p - t)', async () => {
    // p - t = [0.5 - 1, -1.25 + 1, 2 - 0.5, 3.5 - 4] = [-0.5, -0.25, 1.5, -0.5]
    // squares 0.25 + 0.0625 + 2.25 + 0.25 = 2.8125; mean 2.8125 / 4 = 0.703125
    const feeds = { p: [0.5, -1.25, 2, 3.5], t: [1, -1, 0.5, 4] };
    const build = (which: 'mse' | 'sos') => (g: Graph): Built => {
      const p = g.input('p', [2, 2]);
      const t = g.input('t', [2, 2]);
      return { loss: which === 'mse' ? p.meanSquaredError(t) : p.sumOfSquares(t), wrt: [p] };
    };
    const mse = await run(dtype, build('mse'), feeds);
    expectClose(dtype, mse.value, 0.703125, 'mse');
    expectClose(dtype, mse.grads.p!, [-0.25, -0.125, 0.75, -0.25], 'grad p (mse)');
    const sos = await run(dtype, build('sos'), feeds);
    expectClose(dtype, sos.value, 2.8125, 'sum of squares');
    expectClose(dtype, sos.grads.p!, [-1, -0.5, 3, -1], 'grad p (sum of squares)');
  });

  it('meanSquaredError against a number broadcasts it', async () => {
    // p - 1 = [-1, 1, 2]; squares 1 + 1 + 4 = 6; mean 2; gradient 2(p - 1)/3
    const { value, grads } = await run(dtype, (g) => {
      const p = g.input('p', [3]);
      return { loss: p.meanSquaredError(1), wrt: [p] };
    }, { p: [0, 2, 3] });
    expectClose(dtype, value, 2, 'loss');
    expectClose(dtype, grads.p!, [-2 / 3, 2 / 3, 4 / 3], 'grad p');
  });

  it('binaryCrossEntropyWithLogits: mean of -(t log σ(x) + (1 - t) log(1 - σ(x))); gradient (σ(x) - t)/N', async () => {
    // python3 -c "import math
    // x=[2.0,-1.0,0.5,-3.0]; t=[1.0,0.0,0.25,1.0]; sig=lambda v: 1/(1+math.exp(-v))
    // L=[-(b*math.log(sig(a))+(1-b)*math.log(1-sig(a))) for a,b in zip(x,t)]; print(L, sum(L)/4)
    // print([(sig(a)-b)/4 for a,b in zip(x,t)])"
    // Per element: 0.1269280110429727, 0.31326168751822286, 0.8490769841801067, 3.048587351573742
    const { value, grads } = await run(dtype, (g) => {
      const x = g.input('x', [4]);
      return { loss: x.binaryCrossEntropyWithLogits(g.input('t', [4])), wrt: [x] };
    }, { x: [2, -1, 0.5, -3], t: [1, 0, 0.25, 1] });
    expectClose(dtype, value, 1.084463508578761, 'loss');
    expectClose(dtype, grads.x!, [-0.02980073050552942, 0.06723535534249878, 0.09311483280046365, -0.2381435317056083], 'grad x');
  });

  it('l2(λ, ...W) = λ Σ W², gradient 2λW; l1(λ, ...W) = λ Σ |W|, gradient λ sign(W)', async () => {
    const w1 = [0.5, -1.5, 2, 0.25];
    const w2 = [-0.75, 1, 3];
    const build = (which: 'l1' | 'l2') => (g: Graph): Built => {
      const a = g.param('w1', [2, 2], { init: w1 });
      const b = g.param('w2', [3], { init: w2 });
      return { loss: which === 'l2' ? l2(0.01, a, b) : l1(0.01, a, b) };
    };
    // Σ W1² = 0.25 + 2.25 + 4 + 0.0625 = 6.5625; Σ W2² = 0.5625 + 1 + 9 = 10.5625; 0.01 × 17.125 = 0.17125
    const r2 = await run(dtype, build('l2'), {});
    expectClose(dtype, r2.value, 0.17125, 'l2');
    expectClose(dtype, r2.grads.w1!, [0.01, -0.03, 0.04, 0.005], 'l2 grad w1');
    expectClose(dtype, r2.grads.w2!, [-0.015, 0.02, 0.06], 'l2 grad w2');
    // Σ |W1| = 0.5 + 1.5 + 2 + 0.25 = 4.25; Σ |W2| = 0.75 + 1 + 3 = 4.75; 0.01 × 9 = 0.09
    const r1 = await run(dtype, build('l1'), {});
    expectClose(dtype, r1.value, 0.09, 'l1');
    expectClose(dtype, r1.grads.w1!, [0.01, -0.01, 0.01, 0.01], 'l1 grad w1');
    expectClose(dtype, r1.grads.w2!, [-0.01, 0.01, 0.01], 'l1 grad w2');
  });

  it('a data loss plus l2 adds the gradients (the lecture\'s L = data loss + λR(W))', async () => {
    // scores = x·W with x = [[1, 2]], W = [[0.5, -1], [0.25, 2]] → s = [1, 3]; label 1
    // svm: max(0, 1 - 3 + 1) = 0 → data loss 0, no data gradient; l2(0.5, W) = 0.5 × (0.25 + 1 + 0.0625 + 4) = 2.65625
    // gradient: 2 × 0.5 × W = W
    // with label 0: max(0, 3 - 1 + 1) = 3; ds = [-1, 1]; dW = xᵀ·ds = [[-1, 1], [-2, 2]]; plus W
    const build = (g: Graph): Built => {
      const x = g.input('x', [1, 2]);
      const w = g.param('W', [2, 2], { init: [0.5, -1, 0.25, 2] });
      const loss = x.matmul(w).svmLoss(g.input('y', [1], 'i32')).add(l2(0.5, w));
      return { loss };
    };
    const a = await run(dtype, build, { x: [1, 2], y: [1] });
    expectClose(dtype, a.value, 2.65625, 'label 1');
    expectClose(dtype, a.grads.W!, [0.5, -1, 0.25, 2], 'grad W, label 1');
    const b = await run(dtype, build, { x: [1, 2], y: [0] });
    expectClose(dtype, b.value, 5.65625, 'label 0');
    expectClose(dtype, b.grads.W!, [-0.5, 0, -1.75, 4], 'grad W, label 0');
  });
});

describe.each(['f64', 'f32'] as const)('softmax, logSoftmax, logSumExp in %s', (dtype) => {
  // x = [[1, 2, 3], [-1, 0, 4]]
  // python3 -c "import math
  // X=[[1.0,2.0,3.0],[-1.0,0.0,4.0]]
  // for r in X: l=math.log(sum(math.exp(v) for v in r)); print(l, [math.exp(v-l) for v in r], [v-l for v in r])"
  const x = [1, 2, 3, -1, 0, 4];
  const rowLse = [3.40760596444438, 4.024744890138822];
  const rowSoftmax = [0.09003057317038048, 0.2447284710547977, 0.665240955774822, 0.006573263185309085, 0.017867981870304507, 0.9755587549443867];
  const rowLogSoftmax = [-2.40760596444438, -1.4076059644443801, -0.40760596444438013, -5.024744890138822, -4.024744890138822, -0.024744890138822306];
  // Down the columns: log(e^1 + e^-1), log(e^2 + e^0), log(e^3 + e^4); softmax(0) laid out [2, 3] like x:
  // row 0 is e^1/(e^1 + e^-1), e^2/(e^2 + e^0), e^3/(e^3 + e^4); row 1 the complements.
  const colLse = [1.1269280110429725, 2.1269280110429727, 4.313261687518223];
  const colSoftmax = [0.8807970779778824, 0.8807970779778823, 0.2689414213699952, 0.11920292202211759, 0.11920292202211753, 0.731058578630005];
  // Over everything: log(e^1 + e^2 + e^3 + e^-1 + e^0 + e^4)
  const allLse = 4.456193316018123;
  const allSoftmax = [0.031549633201100005, 0.08576079462509832, 0.23312200962361293, 0.004269778545282109, 0.011606461431184652, 0.6336913225737217];

  it('values along the last axis, the first axis, and all axes, with and without keepdims', async () => {
    const { outputs } = await run(dtype, (g) => {
      const t = g.input('x', [2, 3]);
      return {
        outputs: {
          softmaxRows: t.softmax(), softmaxLast: t.softmax(-1), softmaxCols: t.softmax(0),
          logSoftmaxRows: t.logSoftmax(1),
          lseRows: t.logSumExp(1), lseRowsKeep: t.logSumExp(-1, true), lseCols: t.logSumExp(0), lseColsKeep: t.logSumExp(0, true),
          lseAll: t.logSumExp(), lseAllKeep: t.logSumExp(undefined, true), lseBoth: t.logSumExp([0, 1]),
        },
      };
    }, { x });
    expectClose(dtype, outputs.softmaxRows!, rowSoftmax, 'softmax()');
    expectClose(dtype, outputs.softmaxLast!, rowSoftmax, 'softmax(-1)');
    expectClose(dtype, outputs.softmaxCols!, colSoftmax, 'softmax(0)');
    expectClose(dtype, outputs.logSoftmaxRows!, rowLogSoftmax, 'logSoftmax(1)');
    expectClose(dtype, outputs.lseRows!, rowLse, 'logSumExp(1)');
    expectClose(dtype, outputs.lseRowsKeep!, rowLse, 'logSumExp(-1, keepdims)');
    expectClose(dtype, outputs.lseCols!, colLse, 'logSumExp(0)');
    expectClose(dtype, outputs.lseColsKeep!, colLse, 'logSumExp(0, keepdims)');
    expectClose(dtype, outputs.lseAll!, [allLse], 'logSumExp()');
    expectClose(dtype, outputs.lseAllKeep!, [allLse], 'logSumExp(all, keepdims)');
    expectClose(dtype, outputs.lseBoth!, [allLse], 'logSumExp([0, 1])');
  });

  it('shapes: keepdims keeps the reduced axes as 1', () => {
    const g = graph('shapes');
    const t = g.input('x', [2, 3]);
    expect(t.logSumExp(1).shape).toEqual([2]);
    expect(t.logSumExp(1, true).shape).toEqual([2, 1]);
    expect(t.logSumExp(0, true).shape).toEqual([1, 3]);
    expect(t.logSumExp().shape).toEqual([]);
    expect(t.logSumExp(undefined, true).shape).toEqual([1, 1]);
    expect(t.softmax(0).shape).toEqual([2, 3]);
    expect(t.max(1, true).shape).toEqual([2, 1]);
    expect(t.min(0).shape).toEqual([3]);
  });

  it('gradients: d Σ logSumExp(x, axis) / dx is the softmax along that axis', async () => {
    for (const [axis, expected] of [[1, rowSoftmax], [undefined, allSoftmax]] as const) {
      const { grads } = await run(dtype, (g) => {
        const t = g.input('x', [2, 3]);
        return { loss: t.logSumExp(axis).sum(), wrt: [t] };
      }, { x });
      expectClose(dtype, grads.x!, expected, `grad of logSumExp(${String(axis)})`);
    }
  });

  it('gradients: d Σ logSoftmax(x) / dx = 1 - C·softmax(x); d Σ w·softmax(x) / dx = p ⊙ (w - Σ p w)', async () => {
    // python3: [1 - 3*p for p in row softmax]; [p_j*(w_j - sum(p*w)) for each row], w = [[1, 0, 0], [0, 0, 1]]
    const ls = await run(dtype, (g) => {
      const t = g.input('x', [2, 3]);
      return { loss: t.logSoftmax().sum(), wrt: [t] };
    }, { x });
    expectClose(dtype, ls.grads.x!, [0.7299082804888586, 0.2658145868356069, -0.995722867324466, 0.9802802104440728, 0.9463960543890865, -1.9266762648331603], 'grad of Σ logSoftmax');
    const sm = await run(dtype, (g) => {
      const t = g.input('x', [2, 3]);
      return { loss: t.softmax().mul(g.input('w', [2, 3])).sum(), wrt: [t] };
    }, { x, w: [1, 0, 0, 0, 0, 1] });
    // value: p[0][0] + p[1][2] = 0.09003057317038048 + 0.9755587549443867
    expectClose(dtype, sm.value, 1.0655893281147673, 'Σ w·softmax');
    expectClose(dtype, sm.grads.x!, [0.08192506906499325, -0.022033044520174305, -0.059892024544818956, -0.006412604448981904, -0.01743126614676314, 0.023843870595744752], 'grad of Σ w·softmax');
  });
});

describe.each(['f64', 'f32'] as const)('max and min reductions in %s', (dtype) => {
  it('max of [1, 3, 3] is 3 and its gradient is [0, 0.5, 0.5]: ties share it equally', async () => {
    const { value, grads } = await run(dtype, (g) => {
      const t = g.input('x', [3]);
      return { loss: t.max(), wrt: [t] };
    }, { x: [1, 3, 3] });
    expectClose(dtype, value, 3, 'max');
    expectClose(dtype, grads.x!, [0, 0.5, 0.5], 'grad');
  });

  it('min of [2, 7, 2, 2] is 2 and three ties take a third each', async () => {
    const { value, grads } = await run(dtype, (g) => {
      const t = g.input('x', [4]);
      return { loss: t.min(), wrt: [t] };
    }, { x: [2, 7, 2, 2] });
    expectClose(dtype, value, 2, 'min');
    expectClose(dtype, grads.x!, [1 / 3, 0, 1 / 3, 1 / 3], 'grad');
  });

  // x = [[1, 3, 3], [5, -2, 0]]
  const x = [1, 3, 3, 5, -2, 0];

  it('along an axis, with keepdims, values and upstream-weighted gradients', async () => {
    // max(x, 1, keepdims) = [[3], [5]]; loss = 2·3 + 3·5 = 21
    // gradient: row 0's upstream 2 split between the two 3s, row 1's upstream 3 to the 5.
    const a = await run(dtype, (g) => {
      const t = g.input('x', [2, 3]);
      const m = t.max(1, true);
      return { loss: m.mul(g.input('w', [2, 1])).sum(), wrt: [t], outputs: { m } };
    }, { x, w: [2, 3] });
    expectClose(dtype, a.outputs.m!, [3, 5], 'max(1, keepdims)');
    expectClose(dtype, a.value, 21, 'loss');
    expectClose(dtype, a.grads.x!, [0, 1, 1, 3, 0, 0], 'grad of max(1, keepdims)');

    // min(x, 1, keepdims) = [[1], [-2]]; loss = 2·1 + 3·(-2) = -4
    const b = await run(dtype, (g) => {
      const t = g.input('x', [2, 3]);
      const m = t.min(1, true);
      return { loss: m.mul(g.input('w', [2, 1])).sum(), wrt: [t], outputs: { m } };
    }, { x, w: [2, 3] });
    expectClose(dtype, b.outputs.m!, [1, -2], 'min(1, keepdims)');
    expectClose(dtype, b.value, -4, 'loss');
    expectClose(dtype, b.grads.x!, [2, 0, 0, 0, 3, 0], 'grad of min(1, keepdims)');
  });

  it('down the first axis, without and with keepdims', async () => {
    // max(x, 0) = [5, 3, 3] (columns [1, 5], [3, -2], [3, 0]); weights [1, 10, 100] → 5 + 30 + 300 = 335
    const a = await run(dtype, (g) => {
      const t = g.input('x', [2, 3]);
      const m = t.max(0);
      return { loss: m.mul(g.input('w', [3])).sum(), wrt: [t], outputs: { m } };
    }, { x, w: [1, 10, 100] });
    expectClose(dtype, a.outputs.m!, [5, 3, 3], 'max(0)');
    expectClose(dtype, a.value, 335, 'loss');
    expectClose(dtype, a.grads.x!, [0, 10, 100, 1, 0, 0], 'grad of max(0)');

    // min(x, 0, keepdims) = [[1, -2, 0]]; weights [1, 10, 100] → 1 - 20 + 0 = -19
    const b = await run(dtype, (g) => {
      const t = g.input('x', [2, 3]);
      const m = t.min(0, true);
      return { loss: m.mul(g.input('w', [1, 3])).sum(), wrt: [t], outputs: { m } };
    }, { x, w: [1, 10, 100] });
    expectClose(dtype, b.outputs.m!, [1, -2, 0], 'min(0, keepdims)');
    expectClose(dtype, b.value, -19, 'loss');
    expectClose(dtype, b.grads.x!, [1, 0, 0, 0, 10, 100], 'grad of min(0, keepdims)');
  });

  it('over all axes with keepdims, with a tie', async () => {
    // x = [[1, 5], [5, -2]]: max 5 twice, min -2 once; loss = 2·max + min = 8
    const { value, grads, outputs } = await run(dtype, (g) => {
      const t = g.input('x', [2, 2]);
      const hi = t.max(undefined, true);
      const lo = t.min([0, 1], true);
      return { loss: hi.mul(2).add(lo).sum(), wrt: [t], outputs: { hi, lo } };
    }, { x: [1, 5, 5, -2] });
    expectClose(dtype, outputs.hi!, [5], 'max');
    expectClose(dtype, outputs.lo!, [-2], 'min');
    expectClose(dtype, value, 8, 'loss');
    expectClose(dtype, grads.x!, [0, 1, 1, 1], 'grad');
  });
});
