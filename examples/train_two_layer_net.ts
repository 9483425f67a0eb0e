// `npm start`: compile the lecture's two-layer net, write generated/two_layer_net.ts, and train it as the lecture does.
// (What `npx flatgrad compile examples/two_layer_net.ts -o generated` does, with the API.)
import { mkdirSync, writeFileSync } from 'node:fs';
import { emit, mulberry32, randn } from 'flatgrad';
import spec from './two_layer_net.ts';

const { graph, ...options } = spec;
mkdirSync('generated', { recursive: true });
writeFileSync('generated/two_layer_net.ts', emit(graph, options));
console.log('compiled examples/two_layer_net.ts -> generated/two_layer_net.ts');
const { createModel } = (await import(new URL('../generated/two_layer_net.ts', import.meta.url).href)) as typeof import('../generated/two_layer_net.ts');

// x, y = randn(N, D_in), randn(N, D_out); w1, w2 = randn(...) inside createModel.
const [N, D_in, D_out] = [64, 1000, 10];
const rng = mulberry32(1);
const x = Float32Array.from({ length: N * D_in }, () => randn(rng));
const y = Float32Array.from({ length: N * D_out }, () => randn(rng));
const model = createModel({ seed: 0 }); // on the machine's cores, up to the 4 it was compiled for
await model.ready(); // the workers have started

const times: number[] = [];
for (let t = 0; t < 2000; t++) {
  const start = performance.now();
  const loss = model.step({ x, y }, 1e-4);
  times.push(performance.now() - start);
  if (t % 200 === 0 || t === 1999) console.log(`step ${String(t).padStart(4)}  loss ${loss.toFixed(4)}`);
}
times.sort((a, b) => a - b);
const threads = model.workers.length + 1;
console.log(`median time per step: ${times[times.length >> 1]!.toFixed(3)} ms (forward, backward and SGD update; ${model.kernels} kernels on ${threads} thread${threads > 1 ? 's' : ''})`);
