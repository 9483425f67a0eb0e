// Minibatches (batches) and evaluation (evaluate): seeded shuffles, the partial-batch rules, errors, and
// evaluate's loss and accuracy against numbers worked out by hand.
import { allocation, expectFlatHeap } from '../support/helpers.ts';
import { describe, expect, it } from 'vitest';
import { compile, graph, mulberry32 } from '../../src/index.ts';
import { batches, evaluate, shuffleInto, type BatchFeeds, type Dataset } from '../../src/runtime/data.ts';
import { createModel as createTwoLayerNet } from '../../generated/two_layer_net.ts';

/** n examples: x [n, 2] = (i, -i), id [n] = i (Int32), so a batch's ids say which examples it holds. */
function numbered(n: number): Dataset {
  return {
    x: { values: Float32Array.from({ length: 2 * n }, (_, k) => (k % 2 ? -1 : 1) * Math.floor(k / 2)), shape: [n, 2] },
    id: { values: Int32Array.from({ length: n }, (_, i) => i), shape: [n] },
  };
}

const ids = (feeds: BatchFeeds) => Array.from(feeds.id!);
const epochIds = (it: Iterable<BatchFeeds>) => Array.from(it, ids);

describe('batches', () => {
  it('the same seed gives the same batches bit for bit; another epoch or seed another order', () => {
    const a = batches(numbered(50), { batchSize: 8, seed: 7 });
    const b = batches(numbered(50), { batchSize: 8, seed: 7 });
    for (const e of [0, 1, 5]) {
      const xa = Array.from(a.epoch(e), (f) => Array.from(f.x!));
      const xb = Array.from(b.epoch(e), (f) => Array.from(f.x!));
      expect(xa).toEqual(xb);
    }
    expect(epochIds(a.epoch(0))).not.toEqual(epochIds(a.epoch(1)));
    expect(epochIds(a.epoch(0))).not.toEqual(epochIds(batches(numbered(50), { batchSize: 8, seed: 8 }).epoch(0)));
    // epoch(k) does not depend on which epochs were iterated before
    const fresh = batches(numbered(50), { batchSize: 8, seed: 7 });
    expect(epochIds(fresh.epoch(5))).toEqual(epochIds(a.epoch(5)));
    // and the rows of every entry travel together
    for (const f of a.epoch(3)) f.id!.forEach((i, r) => expect([f.x![2 * r], f.x![2 * r + 1]]).toEqual([i, -i]));
  });

  it('shuffles by Fisher–Yates over the prelude mulberry32 stream', () => {
    for (const [n, seed] of [[1, 0], [2, 5], [97, 123456789], [1000, 0xdeadbeef]] as const) {
      const rng = mulberry32(seed);
      const want = Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        [want[i], want[j]] = [want[j]!, want[i]!];
      }
      const p = new Uint32Array(n);
      shuffleInto(p, seed);
      expect(Array.from(p)).toEqual(want);
    }
  });

  it("'drop': every example once per epoch but the remainder; over epochs every example is seen", () => {
    const data = batches(numbered(50), { batchSize: 8, seed: 1 });
    expect([data.batchesPerEpoch, data.remainder, data.count]).toEqual([6, 2, 50]);
    const seen = new Set<number>();
    for (let e = 0; e < 20; e++) {
      const got = epochIds(data.epoch(e)).flat();
      expect(got.length).toBe(48);
      expect(new Set(got).size).toBe(48); // no example twice
      got.forEach((i) => seen.add(i));
    }
    expect(seen.size).toBe(50);
  });

  it("'wrap': the last batch is the epoch's remainder, then the start of the next epoch's order", () => {
    const data = batches(numbered(50), { batchSize: 8, seed: 3, last: 'wrap' });
    expect(data.batchesPerEpoch).toBe(7);
    const e0 = epochIds(data.epoch(0));
    const e1 = epochIds(data.epoch(1));
    const order0 = e0.flat().slice(0, 50);
    expect([...order0].sort((p, q) => p - q)).toEqual(Array.from({ length: 50 }, (_, i) => i)); // every example once…
    expect(e0[6]!.slice(2)).toEqual(e1[0]!.slice(0, 6)); // …then the first 6 of epoch 1's order
    // the 'drop' order of the same seed is the same order
    expect(epochIds(batches(numbered(50), { batchSize: 8, seed: 3 }).epoch(1)).flat()).toEqual(e1.flat().slice(0, 48));
    // unshuffled: the data's order, wrapping to its start
    const plain = epochIds(batches(numbered(10), { batchSize: 4, shuffle: false, last: 'wrap' }).epoch(0));
    expect(plain).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 1]]);
    expect(epochIds(batches(numbered(10), { batchSize: 4, shuffle: false }).epoch(2))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
  });

  it('stream() runs epoch after epoch, the same batches as epoch(k)', () => {
    const data = batches(numbered(20), { batchSize: 6, seed: 9, last: 'wrap' });
    const want = [0, 1, 2].flatMap((e) => epochIds(data.epoch(e)).map((b, k) => [e, k, b]));
    const got: unknown[] = [];
    for (const { epoch, batch, feeds } of data.stream()) {
      got.push([epoch, batch, ids(feeds)]);
      if (got.length === want.length) break;
    }
    expect(got).toEqual(want);
    // resuming mid-epoch: stream(1, 2) starts at epoch 1's third batch
    const resumed: unknown[] = [];
    for (const { epoch, batch, feeds } of data.stream(1, 2)) if (resumed.push([epoch, batch, ids(feeds)]) === 5) break;
    expect(resumed).toEqual(want.slice(data.batchesPerEpoch + 2, data.batchesPerEpoch + 7));
    expect(() => data.stream(0, data.batchesPerEpoch)).toThrow('fromBatch must be an integer in [0, 4)');
  });

  it('plain arrays of numbers batch as Float64Array, keeping their values; shape[1:] is kept per example', () => {
    const data = batches({ x: { values: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], shape: [3, 1, 2] }, y: { values: [1, 2, 3], shape: [3] } }, { batchSize: 3, shuffle: false });
    const [f] = Array.from(data.epoch(0));
    expect(f!.x).toBeInstanceOf(Float64Array);
    expect(Array.from(f!.x!)).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
    expect(Array.from(f!.y!)).toEqual([1, 2, 3]);
  });

  it('mismatched example counts, bad shapes and bad options are errors naming them', () => {
    const x = { values: new Float32Array(20), shape: [10, 2] };
    expect(() => batches({ x, labels: { values: new Int32Array(9), shape: [9] } }, { batchSize: 2 })).toThrow(
      "batches: the entries hold different numbers of examples (shape[0]): 'x' 10, 'labels' 9; every entry needs one row per example",
    );
    expect(() => batches({ x: { values: new Float32Array(19), shape: [10, 2] } }, { batchSize: 2 })).toThrow("data 'x' has 19 values, but its shape [10, 2] holds 20");
    expect(() => batches({ x }, { batchSize: 11 })).toThrow('batchSize 11 is more than the 10 examples');
    expect(() => batches({ x }, { batchSize: 0 })).toThrow('batchSize must be a positive integer');
    expect(() => batches({ x }, { batchSize: 2, last: 'pad' as 'drop' })).toThrow("last must be 'drop' or 'wrap'");
    expect(() => batches({}, { batchSize: 2 })).toThrow('data has no entries');
    // The values without their { values, shape } wrapper: say so, and how to wrap them.
    expect(() => batches({ x: new Float32Array(20) } as never, { batchSize: 2 })).toThrow(
      "batches: data 'x' must be { values, shape }, got a Float32Array of 20 values; wrap it with its shape: { x: { values: x, shape: [examples, ...] } }",
    );
    expect(() => batches({ x: [1, 2] } as never, { batchSize: 2 })).toThrow("batches: data 'x' must be { values, shape }, got an array of 2 values");
    expect(() => batches({ x }, { batchSize: 2 }).epoch(-1)).toThrow('epoch must be an integer');
  });

  it('allocates nothing per batch: the same feeds object and buffers every batch, and the heap stays flat over 10^5 batches', async () => {
    const data = batches(numbered(1000), { batchSize: 32, seed: 2, last: 'wrap' });
    const objects = new Set<object>();
    const buffers = new Set<object>();
    for (let e = 0; e < 3; e++) for (const f of data.epoch(e)) {
      objects.add(f);
      buffers.add(f.x!).add(f.id!);
    }
    expect(objects.size).toBe(1);
    expect(buffers.size).toBe(2);
    expect([...objects][0]).toBe(data.feeds);

    // One epoch of 10^5 batches, and 10^5 batches of stream(): the heap stays flat.
    const long = batches(numbered(100_000), { batchSize: 1, seed: 2 });
    const sums = new Int32Array(2); // each run's sum of the example ids, wrapped to 32 bits so it stays a small integer
    const epoch = () => { let s = 0; for (const f of long.epoch(0)) s = (s + f.id![0]!) | 0; sums[0] = s; };
    const stream = () => { let s = 0; let n = 0; for (const { feeds } of long.stream(1)) { s = (s + feeds.id![0]!) | 0; if (++n === 100_000) break; } sums[1] = s; };
    epoch(); stream(); // warm up
    for (const work of [epoch, stream]) await expectFlatHeap(work);
    expect(Array.from(sums)).toEqual([(100_000 * 99_999) / 2 | 0, (100_000 * 99_999) / 2 | 0]); // every example once
    // The same measure sees a copy per batch.
    const sink: object[] = [];
    const copying = await allocation(() => { for (const f of long.epoch(0)) sink[0] = { x: new Float32Array(f.x!) }; });
    expect(copying.collections > 0 || copying.bytes > 1_000_000).toBe(true);
  });
});

describe('evaluate', () => {
  // A linear classifier with fixed weights: scores = x · w, loss = mean softmax cross-entropy.
  // w = [[1, 0, 0], [0, 1, 0]]: an example's scores are (x0, x1, 0).
  async function tiny(batchSize: number) {
    const g = graph('tiny_eval');
    const x = g.input('x', ['N', 2]);
    const y = g.input('y', ['N'], 'i32');
    const scores = x.matmul(g.param('w', [2, 3], { init: [1, 0, 0, 0, 1, 0] })).named('scores');
    const loss = scores.softmaxCrossEntropy(y).named('loss');
    return compile(g, { loss, outputs: { scores }, dims: { N: batchSize }, dtype: 'f64' });
  }
  // Five examples; per-example scores (x0, x1, 0) and labels:
  const xs = [2, 0, 0, 1, 0, 0, 1, 3, -1, -1];
  const ys = [0, 0, 2, 1, 2];
  const data = { x: { values: xs, shape: [5, 2] }, y: { values: new Int32Array(ys), shape: [5] } };
  // python3 -c "import math
  // S=[(2,0,0),(0,1,0),(0,0,0),(1,3,0),(-1,-1,0)]; Y=[0,0,2,1,2]
  // L=[math.log(sum(math.exp(v) for v in s))-s[y] for s,y in zip(S,Y)]; print(L, sum(L)/5)"
  // [0.2395447662218846, 1.5514447139320509, 1.0986122886681098, 0.16984601955628564, 0.5514447139320511] 0.7221785004620763
  // argmax: 0, 1, 0 (ties: the first), 1, 2 → correct: yes, no, no, yes, yes → 3/5
  const meanLoss = 0.7221785004620763;

  it('loss and accuracy over every example, whether or not the batch size divides the count', async () => {
    for (const batchSize of [5, 1, 2, 3, 4]) {
      const r = evaluate(await tiny(batchSize), data, { scores: 'scores' });
      expect(r.count).toBe(5);
      expect(r.loss, `batchSize ${batchSize}`).toBeCloseTo(meanLoss, 12);
      expect(r.accuracy, `batchSize ${batchSize}`).toBe(3 / 5);
    }
    // without scores: no accuracy; labels can be named
    const model = await tiny(2);
    expect(evaluate(model, data)).toEqual({ loss: expect.closeTo(meanLoss, 12), count: 5 });
    expect(evaluate(model, data, { batchSize: 2, scores: 'scores', labels: 'y' }).accuracy).toBe(0.6);
  });

  it("reduction 'sum': a loss summed over the batch", async () => {
    const g = graph('sum_eval');
    const x = g.input('x', ['N', 2]);
    const w = g.param('w', [2, 1], { init: [1, 1] });
    const loss = x.matmul(w).square().sum().named('loss'); // per example (x0 + x1)²
    const model = await compile(g, { loss, dims: { N: 2 }, dtype: 'f64' });
    // (2+0)², (0+1)², (0+0)², (1+3)², (-1-1)²: 4, 1, 0, 16, 4 → mean 5
    expect(evaluate(model, { x: data.x }, { reduction: 'sum' }).loss).toBeCloseTo(5, 12);
  });

  it("a generated module's model: its inputs give the batch size, and a model without the list needs batchSize", () => {
    const model = createTwoLayerNet({ seed: 3 });
    const rng = mulberry32(4);
    const x = Float32Array.from({ length: 128 * 1000 }, () => rng() - 0.5);
    const y = Float32Array.from({ length: 128 * 10 }, () => rng());
    const byHand = model.forward({ x: x.subarray(0, 64000), y: y.subarray(0, 640) }) + model.forward({ x: x.subarray(64000), y: y.subarray(640) });
    const data = { x: { values: x, shape: [128, 1000] }, y: { values: y, shape: [128, 10] } };
    expect(evaluate(model, data, { reduction: 'sum' })).toEqual({ loss: byHand / 128, count: 128 });
    expect(() => evaluate(model, { x: data.x })).toThrow("evaluate: the model is fed 'x', 'y', but the data has no 'y'");
    const unlisted = { forward: model.forward, outputs: model.outputs };
    expect(evaluate(unlisted, data, { batchSize: 64, reduction: 'sum' })).toEqual({ loss: byHand / 128, count: 128 });
    expect(() => evaluate(unlisted, { x: data.x })).toThrow("evaluate: give batchSize, the model's batch dim");
  });

  it('runs the model forward only: params unchanged', async () => {
    const model = await tiny(2);
    const before = Array.from(model.params.w!);
    evaluate(model, data, { scores: 'scores' });
    expect(Array.from(model.params.w!)).toEqual(before);
  });

  it('says what is wrong: a feed the data lacks, another batch size, an unknown output', async () => {
    const model = await tiny(2);
    expect(() => evaluate(model, { x: data.x })).toThrow("evaluate: the model is fed 'x', 'y', but the data has no 'y' (it has 'x')");
    expect(() => evaluate(model, data, { batchSize: 3 })).toThrow(
      "the model's input 'x' has shape [2, 2], but batches of 3 of data 'x' [5, 2] would be [3, 2] (the batch size is fixed when the model is compiled)",
    );
    expect(() => evaluate(model, data, { scores: 'probs' })).toThrow("scores 'probs' is not one of the model's outputs ('scores')");
  });
});
