// `npm run bench`: medians from tinybench, each compared with its baseline in the same run.
import { cpus } from 'node:os';
import { Bench } from 'tinybench';
import ts from 'typescript';
import { compile, emit, graph, mulberry32, randn, type Tensor } from '../src/index.ts';
import { loadModule } from '../src/runtime/load.ts';
import spec from '../examples/two_layer_net.ts';

const [N, D_in, H, D_out] = [64, 1000, 100, 10];
const rng = mulberry32(1);
const x = Float32Array.from({ length: N * D_in }, () => randn(rng));
const y = Float32Array.from({ length: N * D_out }, () => randn(rng));

/** The lecture's 20-line numpy loop, written by hand as flat loops: the baseline a person would write. */
function handWritten() {
  const w1 = Float32Array.from({ length: D_in * H }, () => randn(rng));
  const w2 = Float32Array.from({ length: H * D_out }, () => randn(rng));
  const h = new Float32Array(N * H), yPred = new Float32Array(N * D_out), gY = new Float32Array(N * D_out);
  const gW2 = new Float32Array(H * D_out), gH = new Float32Array(N * H), gW1 = new Float32Array(D_in * H);
  return () => {
    h.fill(0);
    for (let i = 0; i < N; i++) for (let p = 0; p < D_in; p++) { const a = x[i * D_in + p]!; for (let j = 0; j < H; j++) h[i * H + j]! += a * w1[p * H + j]!; }
    for (let i = 0; i < N * H; i++) h[i] = 1 / (1 + Math.exp(-h[i]!));
    yPred.fill(0);
    for (let i = 0; i < N; i++) for (let p = 0; p < H; p++) { const a = h[i * H + p]!; for (let j = 0; j < D_out; j++) yPred[i * D_out + j]! += a * w2[p * D_out + j]!; }
    let loss = 0;
    for (let i = 0; i < N * D_out; i++) { const d = yPred[i]! - y[i]!; loss += d * d; gY[i] = 2 * d; }
    gW2.fill(0);
    for (let p = 0; p < N; p++) for (let i = 0; i < H; i++) { const a = h[p * H + i]!; for (let j = 0; j < D_out; j++) gW2[i * D_out + j]! += a * gY[p * D_out + j]!; }
    for (let i = 0; i < N; i++) for (let j = 0; j < H; j++) { let s = 0; for (let p = 0; p < D_out; p++) s += gY[i * D_out + p]! * w2[j * D_out + p]!; const hv = h[i * H + j]!; gH[i * H + j] = s * hv * (1 - hv); }
    gW1.fill(0);
    for (let p = 0; p < N; p++) for (let i = 0; i < D_in; i++) { const a = x[p * D_in + i]!; for (let j = 0; j < H; j++) gW1[i * H + j]! += a * gH[p * H + j]!; }
    for (let i = 0; i < w1.length; i++) w1[i]! -= 1e-4 * gW1[i]!;
    for (let i = 0; i < w2.length; i++) w2[i]! -= 1e-4 * gW2[i]!;
    return loss;
  };
}

/** A deep, narrow MLP: a module of about 2,000 lines for the load benchmarks. */
function deepModule(): string {
  const g = graph('deep');
  let h: Tensor = g.input('x', [4, 8]);
  for (let k = 0; k < 48; k++) h = h.matmul(g.param(`w${k}`, [8, 8])).add(g.param(`b${k}`, [8])).tanh();
  return emit(g, { loss: h.square().mean() });
}

const source = deepModule();
let unique = 0;
const importJs = (code: string) => import(`data:text/javascript;base64,${Buffer.from(`${code}\n//${unique++}`).toString('base64')}`);

const { graph: g2, ...options } = spec;
const model = await compile(g2, { ...options, seed: 0 });
const baseline = handWritten();

const results: string[] = [];
async function run(title: string, tasks: Record<string, () => unknown>, time: number): Promise<void> {
  const bench = new Bench({ time, warmupTime: Math.min(time, 500) });
  for (const [name, fn] of Object.entries(tasks)) bench.add(name, fn);
  await bench.run();
  results.push(`\n${title}`);
  for (const t of bench.tasks) {
    const r = t.result as { latency?: { p50: number; mad: number }; state: string };
    results.push(`  ${t.name.padEnd(48)} median ${r.latency!.p50.toFixed(3)} ms  (±${r.latency!.mad.toFixed(3)} MAD)`);
  }
}

await run('Training step, lecture two-layer net (N 64, 1000 -> 100 -> 10, f32)', {
  'flatgrad generated step()': () => model.step({ x, y }, 1e-4),
  'hand-written flat JS (baseline)': baseline,
}, 3000);

await run(`Loading a generated module of ${source.split('\n').length} lines`, {
  'esbuild transform + data: import (flatgrad)': async () => importJs((await import('esbuild')).transformSync(source, { loader: 'ts', format: 'esm' }).code),
  'ts.transpileModule + data: import (baseline)': () => importJs(ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText),
  'loadModule() as compile() uses it': () => loadModule(`${source}\n//${unique++}`),
}, 2000);

console.log(`flatgrad bench, ${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model} x${cpus().length}, Node ${process.version}`);
console.log(results.join('\n'));
