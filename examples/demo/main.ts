// The page: the lecture's ConvNetJS-style 2-D classifier. Three prebuilt variants of one model file (hidden sizes
// 10, 50 and 100; flatgrad/vite compiled each at build time), trained live on the spiral; λ and the learning rate are
// fed each step, so changing them needs no recompile. ?steps=N trains N steps and stops (the browser test's run);
// ?seed=S seeds the params. (src/build/client.d.ts types the ?flatgrad imports: `/// <reference types="flatgrad/client" />`
// in an app of your own.)
import { createModel as net10 } from './spiral.model.ts?H=10&flatgrad';
import { createModel as net50 } from './spiral.model.ts?H=50&flatgrad';
import { createModel as net100 } from './spiral.model.ts?H=100&flatgrad';
import code10 from './spiral.model.ts?H=10&flatgrad-source';
import code50 from './spiral.model.ts?H=50&flatgrad-source';
import code100 from './spiral.model.ts?H=100&flatgrad-source';
import { predict, type CreateModel, type GeneratedModel } from 'flatgrad/runtime';
import { accuracy, argmaxRow, gridCenters, spiral } from '../spiral-data.ts';

const variants: Record<string, { createModel: CreateModel; code: string }> = {
  10: { createModel: net10, code: code10 },
  50: { createModel: net50, code: code50 },
  100: { createModel: net100, code: code100 },
};
const STEPS_PER_FRAME = 10;
const GRID = 70; // decision regions: GRID × GRID cells over [-EXTENT, EXTENT]²
const EXTENT = 1.1;
const COLORS = ['#e4572e', '#29335c', '#17bebb'];
const REGION_COLORS = ['#f7c9bb', '#bfc4d8', '#bdebea'];

const query = new URLSearchParams(location.search);
const seed = Number(query.get('seed') ?? 1);
const stopAt = query.has('steps') ? Number(query.get('steps')) : Infinity;
const data = spiral(100, 3);
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const canvas = $<HTMLCanvasElement>('regions');
const context = canvas.getContext('2d')!;
const hidden = $<HTMLSelectElement>('hidden');
const lambda = $<HTMLInputElement>('lambda');
const lr = $<HTMLInputElement>('lr');
const run = $<HTMLButtonElement>('run');
const code = $<HTMLPreElement>('code');

const grid = gridCenters(GRID, EXTENT);

let model: GeneratedModel;
let step = 0;
let running = true;
const feeds = { x: data.x, labels: data.labels, lambda: Number(lambda.value) };

function reset(): void {
  const variant = variants[hidden.value]!;
  model = variant.createModel({ seed });
  step = 0;
  code.textContent = variant.code;
  $('kernels').textContent = model.kernels;
  document.body.dataset.done = 'false';
  draw();
}

function draw(): void {
  const loss = model.forward(feeds);
  const acc = accuracy(model.outputs.scores!, data.labels, data.classes);
  $('step').textContent = String(step);
  $('loss').textContent = loss.toFixed(4);
  $('accuracy').textContent = `${(acc * 100).toFixed(1)}%`;
  $('accuracy').dataset.value = String(acc);
  // The regions: every grid point through the compiled batch of 300 (predict pads the last chunk).
  const scores = predict(model, { x: grid, lambda: feeds.lambda }, { output: 'scores' });
  const cell = canvas.width / GRID;
  for (let i = 0; i < GRID * GRID; i++) {
    context.fillStyle = REGION_COLORS[argmaxRow(scores, i, data.classes)]!;
    context.fillRect((i % GRID) * cell, Math.floor(i / GRID) * cell, cell + 0.5, cell + 0.5);
  }
  const scale = canvas.width / (2 * EXTENT);
  for (let i = 0; i < data.n; i++) {
    context.beginPath();
    context.arc((data.x[2 * i]! + EXTENT) * scale, (EXTENT - data.x[2 * i + 1]!) * scale, 3.5, 0, 2 * Math.PI);
    context.fillStyle = COLORS[data.labels[i]!]!;
    context.fill();
  }
}

function frame(): void {
  if (running && step < stopAt) {
    feeds.lambda = Number(lambda.value);
    const rate = Number(lr.value);
    for (let k = 0; k < STEPS_PER_FRAME && step < stopAt; k++, step++) model.step(feeds, rate);
    draw();
    if (step >= stopAt) document.body.dataset.done = 'true';
  }
  requestAnimationFrame(frame);
}

run.addEventListener('click', () => {
  running = !running;
  run.textContent = running ? 'pause' : 'train';
});
$('reset').addEventListener('click', reset);
hidden.addEventListener('change', reset);
$('show-code').addEventListener('click', () => {
  code.hidden = !code.hidden;
  $('show-code').textContent = code.hidden ? 'show the generated code' : 'hide the generated code';
});

reset();
requestAnimationFrame(frame);
