// `npm run bench -- webgpu` (and the WebGPU part of `npm run bench`): flatgrad's WebGPU target against its own CPU
// path (the default compile: Wasm SIMD kernels) in the same process, on W1, W2, a large MLP W3 and a 2048³ matmul
// (bench/webgpu-core.ts). Prints a markdown section and writes it to bench/RESULTS.md. Here the adapter is a
// software driver (lavapipe), whose figures only show that it runs; scripts/gpu-machine/ runs the same benchmark on
// a GPU machine. Options: --json OUT (the figures as JSON too), --quick (fewer samples), --no-results (print only).
import { writeFileSync } from 'node:fs';
import { compile } from '../src/index.ts';
import { adapterDescription, defaultDevice } from '../src/runtime/webgpu.ts';
import { writeResults } from './measure.ts';
import { benchWebGpu, type WorkloadId } from './webgpu-core.ts';
import { gpuMatmulGraph, w1Graph, w2Graph, w3Graph, type Spec } from './workloads.ts';

const args = process.argv.slice(2);
const device = await defaultDevice('bench/webgpu.ts');
const adapter = adapterDescription(device);
const log = (line: string) => process.stderr.write(`${line}\n`);
log(`bench/webgpu: adapter ${adapter}`);

const specs: Record<WorkloadId, () => Spec> = { w1: w1Graph, w2: w2Graph, w3: w3Graph, mm: gpuMatmulGraph };
const result = await benchWebGpu({
  adapter,
  quick: args.includes('--quick'),
  log,
  async models(w) {
    const { g, options } = specs[w.id]();
    // seed 0 for both: the same weights at the first step
    return { gpu: await compile(g, { ...options, seed: 0, target: 'webgpu', device }), cpu: await compile(g, { ...options, seed: 0 }) };
  },
});
console.log(result.text);
const json = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
if (json) writeFileSync(json, JSON.stringify({ adapter, ...result }, null, 2));
if (!args.includes('--no-results')) writeResults(new URL('./RESULTS.md', import.meta.url), 'webgpu', result.text);
