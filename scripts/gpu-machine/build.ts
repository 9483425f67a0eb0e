// Run here by prepare.sh: generates the benchmark's models ahead of time (the build-time codegen use: the GPU
// machine runs the generated modules, no compiler) and bundles the runner with them into .gpu/bench/run.mjs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { emit } from '../../src/index.ts';
import { gpuMatmulGraph, w1Graph, w2Graph, w3Graph } from '../../bench/workloads.ts';

const root = new URL('../../', import.meta.url);
const out = new URL('.gpu/bench/', root);
mkdirSync(out, { recursive: true });
for (const [id, spec] of Object.entries({ w1: w1Graph, w2: w2Graph, w3: w3Graph, mm: gpuMatmulGraph })) {
  const { g, options } = spec();
  writeFileSync(new URL(`${id}.cpu.ts`, out), emit(g, options));
  writeFileSync(new URL(`${id}.webgpu.ts`, out), emit(g, { ...options, target: 'webgpu' }));
}
const ids = ['w1', 'w2', 'w3', 'mm'];
writeFileSync(new URL('entry.ts', out), [
  "import { runOnDevice } from '../../scripts/gpu-machine/run.ts';",
  ...ids.flatMap((id) => [`import * as ${id}_cpu from './${id}.cpu.ts';`, `import * as ${id}_gpu from './${id}.webgpu.ts';`]),
  `await runOnDevice({ ${ids.map((id) => `${id}: [${id}_cpu, ${id}_gpu]`).join(', ')} });`,
].join('\n'));
await build({
  entryPoints: [new URL('entry.ts', out).pathname],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['webgpu'],
  outfile: new URL('run.mjs', out).pathname,
  logLevel: 'warning',
});
console.log('gpu-machine: wrote .gpu/bench/run.mjs (the runner and the generated models of W1, W2, W3 and the matmul)');
