// `npm run example:spiral`: the lecture's 2-D classification demo (CS231n's spiral, ConvNetJS's classify2d).
// Three classes of 100 points on a spiral, a two-layer net 2 → 100 (ReLU) → 3 with mean softmax cross-entropy
// plus λ·ΣW², trained full-batch for λ = 0.001, 0.01 and 0.1; each net's decision regions are evaluated on a
// grid and drawn side by side in examples/output/spiral.svg (deterministic: the same bytes on every run).
import { mkdirSync, writeFileSync } from 'node:fs';
import { compile, graph, l2 } from 'flatgrad';
import { accuracy as accuracyOf, argmaxRow, gridCenters, spiral } from './spiral-data.ts';

const PER_CLASS = 100;
const K = 3; // classes
const H = 100; // hidden units
const STEPS = 10_000; // full-batch SGD steps, lr 1.0, as in CS231n's spiral notes
const LR = 1.0;
const LAMBDAS = [0.001, 0.01, 0.1];
const GRID = 150; // decision regions: a GRID × GRID grid over [-1.1, 1.1]²
const EXTENT = 1.1;

// The data, as CS231n builds it (examples/spiral-data.ts).
const { x: xs, labels: ys, n: N } = spiral(PER_CLASS, K);

/** The net, for any λ: one graph, compiled once to train (N = 300) and once forward-only for the grid. */
function net(lambda: number) {
  const g = graph('spiral');
  const x = g.input('x', ['N', 2]);
  const labels = g.input('labels', ['N'], 'i32');
  const w1 = g.param('w1', [2, H], { init: 'he' });
  const b1 = g.param('b1', [H], { init: 'zeros' });
  const w2 = g.param('w2', [H, K], { init: 'he' });
  const b2 = g.param('b2', [K], { init: 'zeros' });
  const hidden = x.matmul(w1).add(b1).relu().named('hidden');
  const scores = hidden.matmul(w2).add(b2).named('scores');
  const loss = scores.softmaxCrossEntropy(labels).add(l2(lambda, w1, w2)).named('loss');
  return { g, scores, loss };
}

const grid = gridCenters(GRID, EXTENT);

interface Result { lambda: number; loss: number; accuracy: number; norm: number; regions: Uint8Array }
const results: Result[] = [];
const start = performance.now();
for (const lambda of LAMBDAS) {
  const { g, scores, loss } = net(lambda);
  const model = await compile(g, { loss, outputs: { scores }, dims: { N }, seed: 1 });
  const feeds = { x: xs, labels: ys };
  let last = 0;
  for (let t = 0; t < STEPS; t++) {
    last = model.step(feeds, LR);
    if (t % 2000 === 0) console.log(`λ ${lambda}  step ${String(t).padStart(5)}  loss ${last.toFixed(4)}`);
  }
  const finalLoss = model.forward(feeds);
  const accuracy = accuracyOf(model.outputs.scores!, ys, K);

  // The decision regions: the same graph compiled forward-only for the grid, with the trained params copied in by name.
  const view = await compile(g, { outputs: { scores }, dims: { N: GRID * GRID } });
  for (const [name, values] of Object.entries(model.params)) view.params[name]!.set(values);
  view.forward({ x: grid });
  const regions = Uint8Array.from({ length: GRID * GRID }, (_, i) => argmaxRow(view.outputs.scores!, i, K));
  let norm = 0; // ΣW², what λ penalizes
  for (const name of ['w1', 'w2']) for (const v of model.params[name]!) norm += v * v;
  results.push({ lambda, loss: finalLoss, accuracy, norm, regions });
  console.log(`λ ${lambda}: loss ${finalLoss.toFixed(4)}, ΣW² ${norm.toFixed(2)}, training accuracy ${(accuracy * 100).toFixed(1)}%`);
}
console.log(`trained ${LAMBDAS.length} nets × ${STEPS} steps in ${((performance.now() - start) / 1000).toFixed(1)} s`);

// The picture: one panel per λ, the regions as one path per class (runs of equal cells along each grid row), then the points.
const PANEL = 300; // px per panel side
const GAP = 20;
const TOP = 10;
const CAPTION = 62;
const REGION = ['#f6c6c6', '#c8ecc8', '#c8d4f6'];
const POINT = ['#d62728', '#2ca02c', '#1f4fd6'];
const cell = PANEL / GRID;
const px = (v: number) => ((v + EXTENT) / (2 * EXTENT)) * PANEL;
const round = (v: number) => String(Math.round(v * 100) / 100);

const width = LAMBDAS.length * PANEL + (LAMBDAS.length + 1) * GAP;
const height = TOP + PANEL + CAPTION;
const parts: string[] = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
  `<rect width="${width}" height="${height}" fill="#fff"/>`,
];
results.forEach(({ lambda, loss, accuracy, norm, regions }, p) => {
  const ox = GAP + p * (PANEL + GAP);
  parts.push(`<g transform="translate(${ox} ${TOP})">`);
  for (let k = 0; k < K; k++) {
    let d = '';
    for (let r = 0; r < GRID; r++) {
      for (let c = 0; c < GRID; ) {
        if (regions[r * GRID + c] !== k) { c++; continue; }
        let e = c;
        while (e < GRID && regions[r * GRID + e] === k) e++;
        d += `M${round(c * cell)} ${round(r * cell)}h${round((e - c) * cell)}v${round(cell)}h${round(-(e - c) * cell)}z`;
        c = e;
      }
    }
    if (d) parts.push(`<path fill="${REGION[k]}" stroke="${REGION[k]}" stroke-width="0.3" d="${d}"/>`);
  }
  for (let k = 0; k < K; k++) {
    const dots: string[] = [];
    for (let i = 0; i < N; i++) if (ys[i] === k) dots.push(`<circle cx="${round(px(xs[2 * i]!))}" cy="${round(PANEL - px(xs[2 * i + 1]!))}" r="3.5"/>`);
    parts.push(`<g fill="${POINT[k]}" stroke="#222" stroke-width="0.7">${dots.join('')}</g>`);
  }
  parts.push(`<rect width="${PANEL}" height="${PANEL}" fill="none" stroke="#888"/>`);
  parts.push(`<text x="${PANEL / 2}" y="${PANEL + 26}" text-anchor="middle" font-size="15">λ = ${lambda} · training accuracy ${(accuracy * 100).toFixed(1)}%</text>`);
  parts.push(`<text x="${PANEL / 2}" y="${PANEL + 46}" text-anchor="middle" font-size="12" fill="#555">loss ${loss.toFixed(3)} · ΣW² ${norm.toFixed(2)}</text>`);
  parts.push('</g>');
});
parts.push('</svg>');

mkdirSync('examples/output', { recursive: true });
writeFileSync('examples/output/spiral.svg', parts.join('\n') + '\n');
console.log('wrote examples/output/spiral.svg');
