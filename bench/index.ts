// `npm run bench`: flatgrad against its peers (TensorFlow.js cpu and wasm, jax-js, NumPy / PyTorch when installed)
// on the optimizing-compiler issue's workloads, then flatgrad again with relaxed SIMD in a second process, then the
// WebGPU target against the CPU path in a third (bench/webgpu.ts), then the earlier in-house comparisons (generated
// step vs hand-written JS, module load time). Prints a markdown report and writes it to bench/RESULTS.md.
// BENCH_TIME_MS sets the time per row and workload (default 3000).
// The workloads: the base ones (W1, W2 and the matmuls) and the conv ones (W4 and W5, convnets' steps, and C1, one
// conv). `npm run bench -- conv`: the conv rows alone, in this process and NumPy's (no relaxed SIMD, WebGPU or
// in-house parts), printed without writing bench/RESULTS.md; `npm run bench -- conv fast`: without TensorFlow.js cpu
// and jax-js too, whose convs take seconds a call (for iterating on flatgrad's convs: two minutes or so).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import ts from 'typescript';
import { compile, emit, graph, mulberry32, randn, type Tensor } from '../src/index.ts';
import { loadModule } from '../src/runtime/load.ts';
import spec from '../examples/two_layer_net.ts';
import { measure, SLOW_MS, writeResults, type Stat } from './measure.ts';
import { wasmPeak } from './peak.ts';
import { jaxPeer } from './peers/jax.ts';
import { hasNumpy, numpyRunner, type NumpyRun } from './peers/numpy.ts';
import { tfjsPeer } from './peers/tfjs.ts';
import {
  ALL_WORKLOADS, C1, CONV_WORKLOADS, flatgradPeers, makeConvData, makeData, SAME_SOURCE, W1, W2, W4, W5, WORKLOADS,
  type PeerTasks, type Section, type Workload, type WorkloadId,
} from './workloads.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const TIME_MS = Number(process.env.BENCH_TIME_MS ?? 3000);
const ROUNDS = 3;
const MIN_ITERATIONS = 3;
const TOLERANCE = 1e-3; // first-step losses (and Σ|C|) must agree with flatgrad's within this, relatively
const log = (line: string) => process.stderr.write(`${line}\n`);
const started = performance.now();
const loadAtStart = loadavg()[0]!;
const args = process.argv.slice(2);
/** `-- conv`: the conv rows alone; `-- conv fast`: and only the quick peers (flatgrad, TensorFlow.js wasm, NumPy). */
const convOnly = args.includes('conv'), fast = convOnly && args.includes('fast');
const sections: readonly Section[] = convOnly ? ['conv'] : ['base', 'conv'];
const SELECTED: readonly Workload[] = convOnly ? CONV_WORKLOADS : ALL_WORKLOADS;
/** Stop with a plain message (a throw would pass through tfjs-backend-wasm's rethrowing handlers and print its minified source). */
function fail(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(1);
}

/** A row of the report. */
interface Row {
  name: string;
  results: Partial<Record<WorkloadId, Stat>>;
  checks: Partial<Record<WorkloadId, number>>;
  /** The conv steps' second losses: after one SGD update, they check the gradients too. */
  seconds?: Partial<Record<WorkloadId, number>>;
  notes: Partial<Record<WorkloadId, string>>;
  /** Why the row has no numbers at all. */
  absent?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// The peers, in this process.

const data = { ...makeData(), conv: makeConvData() };
log(`bench: ${TIME_MS} ms per row and workload, in ${ROUNDS} interleaved rounds${convOnly ? `; the conv rows only${fast ? ', quick peers only' : ''}` : ''}`);
const [flat, unguarded, readable, threaded] = await flatgradPeers(data, sections);
log('bench: flatgrad compiled; TensorFlow.js and jax-js start (their first conv steps take a while)');
const tfCpu = fast ? undefined : await tfjsPeer('cpu', data, sections);
const tfWasm = await tfjsPeer('wasm', data, sections);
const jax = fast ? undefined : await jaxPeer(data, sections);
const peers: PeerTasks[] = [flat, unguarded, readable, threaded, tfCpu, tfWasm, jax].filter((p) => p !== undefined);
const checksOf = (p: PeerTasks) => Object.fromEntries(Object.entries(p.tasks).map(([id, t]) => [id, t!.check])) as Row['checks'];
const secondsOf = (p: PeerTasks) => Object.fromEntries(Object.entries(p.tasks).flatMap(([id, t]) => (t!.second === undefined ? [] : [[id, t!.second]]))) as Row['checks'];

const disagreements: string[] = [];
function agree(name: string, checks: Row['checks'], ref: Row['checks'], what = ''): void {
  for (const { id } of ALL_WORKLOADS) {
    const v = checks[id], r = ref[id];
    if (v === undefined || r === undefined) continue;
    const rel = Math.abs(v - r) / Math.abs(r);
    if (!(rel <= TOLERANCE)) disagreements.push(`${name} ${id}${what}: ${v} vs flatgrad's ${r} (relative difference ${rel.toExponential(2)})`);
  }
}
for (const p of peers) {
  agree(p.name, checksOf(p), checksOf(flat));
  agree(p.name, secondsOf(p), secondsOf(flat), ' (second step)');
}
if (disagreements.length) fail(`the peers do not compute the same thing:\n  ${disagreements.join('\n  ')}`);

log('bench: timing flatgrad, TensorFlow.js and jax-js in this process');
const results = await measure(peers, { timeMs: TIME_MS, rounds: ROUNDS, minIterations: MIN_ITERATIONS, log, workloads: SELECTED });
const rows: Row[] = peers.map((p) => ({ name: p.name, results: results.get(p.name) ?? {}, checks: checksOf(p), seconds: secondsOf(p), notes: p.notes ?? {} }));
log('bench: the ceiling of Wasm SIMD arithmetic (bench/peak.ts), on 1 thread and on 2');
const ceiling = await wasmPeak();

// ---------------------------------------------------------------------------------------------------------------
// NumPy and PyTorch, in a Python subprocess fed the same arrays.

let python = '';
if (hasNumpy()) {
  log('bench: timing NumPy (and PyTorch, if installed) in a Python subprocess, on 1 thread and on 2');
  const numpy = numpyRunner(data, SELECTED.map((w) => w.id));
  try {
    for (const threads of [1, 2]) {
      let out: NumpyRun;
      try { out = numpy.run(threads, TIME_MS, ROUNDS, MIN_ITERATIONS); } catch (e) { fail((e as Error).message); }
      python = out.python;
      for (const r of out.rows) {
        agree(r.name, r.checks, checksOf(flat));
        agree(r.name, r.seconds ?? {}, secondsOf(flat), ' (second step)');
        rows.push({ ...r, notes: {} });
      }
      if (threads === 1) for (const m of out.missing) rows.push({ name: m, results: {}, checks: {}, notes: {}, absent: 'not installed' });
    }
  } finally {
    numpy.dispose();
  }
} else {
  for (const m of ['NumPy', 'PyTorch']) rows.push({ name: m, results: {}, checks: {}, notes: {}, absent: 'not installed' });
}

// ---------------------------------------------------------------------------------------------------------------
// flatgrad with relaxed SIMD, in a second process (and jax-js beside it, the same-process reference).

// The base workloads only (bench/flatgrad_only.ts): the conv rows are not timed with relaxed SIMD.

let relaxed: { relaxedSimd: boolean; rows: Row[] } = { relaxedSimd: false, rows: [] };
if (!convOnly) {
  log('bench: timing flatgrad (and jax-js) again with --experimental-wasm-relaxed-simd, in a second process');
  const relaxedOut = join(mkdtempSync(join(tmpdir(), 'flatgrad-relaxed-')), 'results.json');
  const child = spawnSync(process.execPath,
    ['--experimental-wasm-relaxed-simd', '--import', 'tsx', 'bench/flatgrad_only.ts', relaxedOut, String(TIME_MS), String(ROUNDS), String(MIN_ITERATIONS)],
    { cwd: root, stdio: ['ignore', 2, 2] }); // the child's stdout goes to our stderr: our stdout is the report
  if (child.status !== 0) fail(`bench/flatgrad_only.ts exited with ${child.status ?? child.signal}`);
  relaxed = JSON.parse(readFileSync(relaxedOut, 'utf8')) as { relaxedSimd: boolean; rows: Row[] };
  rmSync(join(relaxedOut, '..'), { recursive: true, force: true });
  for (const r of relaxed.rows) agree(`${r.name} (relaxed SIMD)`, r.checks, checksOf(flat));
}

// ---------------------------------------------------------------------------------------------------------------
// The earlier comparisons: the generated step against the same step hand-written as flat JS, and module load time.

const legacy: string[] = [];
if (!convOnly) {
  const [N, D_in, H, D_out] = [64, 1000, 100, 10];
  const rng = mulberry32(1);
  const x = Float32Array.from({ length: N * D_in }, () => randn(rng));
  const y = Float32Array.from({ length: N * D_out }, () => randn(rng));

  /** The lecture's 20-line numpy loop, written by hand as flat loops: the baseline a person would write. */
  const handWritten = () => {
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
      for (let i = 0; i < N; i++) for (let j = 0; j < H; j++) {
        let s = 0;
        for (let p = 0; p < D_out; p++) s += gY[i * D_out + p]! * w2[j * D_out + p]!;
        const hv = h[i * H + j]!;
        gH[i * H + j] = s * hv * (1 - hv);
      }
      gW1.fill(0);
      for (let p = 0; p < N; p++) for (let i = 0; i < D_in; i++) { const a = x[p * D_in + i]!; for (let j = 0; j < H; j++) gW1[i * H + j]! += a * gH[p * H + j]!; }
      for (let i = 0; i < w1.length; i++) w1[i]! -= 1e-4 * gW1[i]!;
      for (let i = 0; i < w2.length; i++) w2[i]! -= 1e-4 * gW2[i]!;
      return loss;
    };
  };

  /** A deep, narrow MLP: a module of about 2,000 lines for the load benchmarks. */
  const deepModule = (): string => {
    const g = graph('deep');
    let h: Tensor = g.input('x', [4, 8]);
    for (let k = 0; k < 48; k++) h = h.matmul(g.param(`w${k}`, [8, 8])).add(g.param(`b${k}`, [8])).tanh();
    return emit(g, { loss: h.square().mean() });
  };

  const source = deepModule();
  let unique = 0;
  const importJs = (code: string) => import(`data:text/javascript;base64,${Buffer.from(`${code}\n//${unique++}`).toString('base64')}`);

  const { graph: g2, ...options } = spec;
  const model = await compile(g2, { ...options, seed: 0 });
  const baseline = handWritten();

  const run = async (title: string, tasks: Record<string, () => unknown>, time: number): Promise<void> => {
    const bench = new Bench({ time, warmupTime: Math.min(time, 500) });
    for (const [name, fn] of Object.entries(tasks)) bench.add(name, fn);
    await bench.run();
    legacy.push(...(legacy.length ? [''] : []), title);
    for (const t of bench.tasks) {
      const r = t.result as { latency?: { p50: number; mad: number }; state: string };
      legacy.push(`  ${t.name.padEnd(48)} median ${r.latency!.p50.toFixed(3)} ms  (±${r.latency!.mad.toFixed(3)} MAD)`);
    }
  };

  log('bench: the generated step against hand-written JS, and module load time');
  await run('Training step, lecture two-layer net (N 64, 1000 -> 100 -> 10, f32)', {
    'flatgrad generated step()': () => model.step({ x, y }, 1e-4),
    'hand-written flat JS (baseline)': baseline,
  }, 3000);

  await run(`Loading a generated module of ${source.split('\n').length} lines`, {
    'esbuild transform + data: import (flatgrad)': async () => importJs((await import('esbuild')).transformSync(source, { loader: 'ts', format: 'esm' }).code),
    'ts.transpileModule + data: import (baseline)': () => importJs(ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText),
    'loadModule() as compile() uses it': () => loadModule(`${source}\n//${unique++}`),
  }, 2000);
}

// ---------------------------------------------------------------------------------------------------------------
// flatgrad on WebGPU against its own CPU path, in a process of its own (Dawn, and a driver that may be missing).

if (!convOnly) log('bench: the WebGPU target (bench/webgpu.ts), in a third process');
const gpuRun = convOnly
  ? undefined
  : spawnSync(process.execPath, ['--import', 'tsx', 'bench/webgpu.ts', '--no-results'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 2], maxBuffer: 1 << 24 });
const webgpu = !gpuRun
  ? []
  : gpuRun.status === 0
    ? gpuRun.stdout.trim().split('\n')
    : ['## WebGPU', '', `bench/webgpu.ts exited with ${gpuRun.status ?? gpuRun.signal}: no WebGPU adapter? (scripts/install-vulkan.sh installs Mesa's lavapipe)`];

// ---------------------------------------------------------------------------------------------------------------
// The report.

const digits = (v: number) => (v < 1 ? 3 : v < 100 ? 2 : 1);
const ms = (s: Stat) => `${s.median.toFixed(digits(s.median))} ± ${s.mad.toFixed(digits(s.median))}`;
const flopsOf = (id: WorkloadId) => ALL_WORKLOADS.find((w) => w.id === id)!.flops;
const gflops = (id: WorkloadId, s: Stat) => flopsOf(id) / (s.median * 1e6);

function cell(row: Row, id: WorkloadId, fallback?: Row): string {
  if (row.absent) return row.absent;
  const note = row.notes[id];
  const s = row.results[id] ?? (note === SAME_SOURCE ? fallback?.results[id] : undefined);
  if (!s) return note ?? '—';
  const text = flopsOf(id) ? `${ms(s)} (${gflops(id, s).toFixed(1)} GFLOPS)` : ms(s);
  return note ? `${text}, ${note}` : text;
}

function table(list: Row[], fallback?: Row, workloads: readonly Workload[] = WORKLOADS): string[] {
  return [
    `| | ${workloads.map((w) => `${w.title}, ms`).join(' | ')} |`,
    `|---|${workloads.map(() => '---').join('|')}|`,
    ...list.map((r) => `| ${r.name} | ${workloads.map((w) => cell(r, w.id, r.name.startsWith('flatgrad ') ? fallback : undefined)).join(' | ')} |`),
  ];
}

const byName = (list: Row[], prefix: string) => list.find((r) => r.name.startsWith(prefix));
const fmtMs = (v: number) => `${v.toFixed(digits(v))} ms`;

/** "flatgrad is ≥ target× faster than peer" on a workload. */
function speedLine(label: string, f: Row | undefined, p: Row | undefined, id: WorkloadId, target: number, extra = ''): string {
  const a = f?.results[id], b = p?.results[id];
  if (!a || !b) return `- ${label}: not measured`;
  const ratio = b.median / a.median;
  const head = `- ${label} (target ≥ ${Number(target.toFixed(2))}×): flatgrad ${fmtMs(a.median)}, ${p!.name} ${fmtMs(b.median)}: ${ratio.toFixed(2)}×`;
  return ratio >= target
    ? `${head}, **met**${extra}`
    : `${head}, **missed** by ${(target / ratio).toFixed(1)}× (flatgrad needs ≤ ${fmtMs(b.median / target)})${extra}`;
}

function gflopsLine(label: string, f: Row | undefined, id: WorkloadId, target: number): string {
  const a = f?.results[id];
  if (!a) return `- ${label}: not measured`;
  const g = gflops(id, a);
  const head = `- ${label} (target ≥ ${target} GFLOPS): ${g.toFixed(1)} GFLOPS (${fmtMs(a.median)})`;
  return g >= target ? `${head}, **met**` : `${head}, **missed** by ${(target - g).toFixed(1)} GFLOPS (${(target / g).toFixed(1)}× short)`;
}

const fThreads = byName(rows, 'flatgrad, 2 threads');
const np1 = rows.find((r) => r.name.startsWith('NumPy') && r.name.includes('1 thread'));
const np2 = rows.find((r) => r.name.startsWith('NumPy') && r.name.includes('2 threads'));
const fMain = byName(rows, 'flatgrad'), jMain = byName(rows, 'jax-js'), tfw = rows.find((r) => r.name.startsWith('TensorFlow.js') && r.name.endsWith(' wasm'));
const fRelaxed = byName(relaxed.rows, 'flatgrad'), jRelaxed = byName(relaxed.rows, 'jax-js');
const vsMain = (id: WorkloadId) => {
  const a = fRelaxed?.results[id], b = jMain?.results[id];
  return a && b ? ` (against jax-js of the first process, ${fmtMs(b.median)}: ${(b.median / a.median).toFixed(2)}×)` : '';
};

// W2's matmuls: x·W1 and xᵀ·g (N·D_in·H each), h·W2, g·W2ᵀ, hᵀ·g (N·H·C each); 2 flops a multiply-add.
const W2_MATMUL_FLOPS = 2 * (2 * W2.N * W2.D_in * W2.H + 3 * W2.N * W2.H * W2.C);
// W1's: x·w1, xᵀ·g (N·D_in·H each), h·w2, g·w2ᵀ, hᵀ·g (N·H·D_out each).
const W1_MATMUL_FLOPS = 2 * (2 * W1.N * W1.D_in * W1.H + 3 * W1.N * W1.H * W1.D_out);
/** How long `flops` take at `gflops`. */
const msAt = (flops: number, gflops: number) => fmtMs(flops / (gflops * 1e6));

/**
 * Why the relaxed-SIMD step targets can be out of reach here: the matmuls' floor at the measured matmul
 * speed, and what relaxed SIMD changes for each side.
 */
function whyMissed(): string[] {
  const gf = fRelaxed?.results.mm256 ? gflops('mm256', fRelaxed.results.mm256) : undefined;
  if (!gf) return [];
  return [
    '**Why a relaxed-SIMD target can be missed.** jax-js speeds up with `f32x4.relaxed_madd`; flatgrad\'s kernels',
    'barely do on this CPU, whose separate add units keep a multiply then an add as fast as a fused one. At the',
    `matmul speed measured above (${gf.toFixed(1)} GFLOPS, near the 128-bit SIMD peak of one core), W2's matmuls alone`,
    `take ${msAt(W2_MATMUL_FLOPS, gf)} and W1's ${msAt(W1_MATMUL_FLOPS, gf)}: on one thread a step is no faster than that, whatever the rest`,
    'costs (its elementwise loops, exp and sigmoid included, run as Wasm SIMD too). Closing the gap further needs',
    'more than one core (Wasm threads) or wider vectors than Wasm\'s 128 bits.',
    '',
  ];
}

/**
 * The thread targets against what this machine's Wasm SIMD can do at all, measured in this run: a matmul in Wasm
 * SIMD is no faster than the multiply-adds alone, in registers, with no memory traffic.
 */
function ceilingLines(): string[] {
  const mm512 = fThreads?.results.mm512 ? gflops('mm512', fThreads.results.mm512) : undefined;
  const numpy = (id: WorkloadId) => (np1?.results[id] ? `NumPy's 1-thread step ${fmtMs(np1.results[id].median)}` : 'NumPy not measured');
  return [
    '**The ceiling.** Wasm SIMD arithmetic alone (12 f32x4 accumulators in registers, each gaining a·b every iteration: a',
    `multiply and an add, no memory; bench/peak.ts) runs at ${ceiling.one.toFixed(1)} GFLOPS on one thread and ${ceiling.two.toFixed(1)} on two at once,`,
    'measured in this run. No matmul written in Wasm SIMD is faster than its arithmetic alone: the 512³ target',
    `(105 GFLOPS on 2 threads) asks for ${((105 / ceiling.two) * 100).toFixed(0)}% of that ceiling` +
      `${mm512 ? `, and flatgrad's 512³ on 2 threads reaches ${((mm512 / ceiling.two) * 100).toFixed(0)}% of it` : ''}. At the`,
    `ceiling, W2's matmuls (${(W2_MATMUL_FLOPS / 1e6).toFixed(1)} MFLOP) alone take ${msAt(W2_MATMUL_FLOPS, ceiling.two)} (${numpy('w2')}) and W1's (${(W1_MATMUL_FLOPS / 1e6).toFixed(1)} MFLOP)`,
    `${msAt(W1_MATMUL_FLOPS, ceiling.two)} (${numpy('w1')}; the target allows 1.2× it). OpenBLAS uses the CPU's 256- or 512-bit fused multiply-adds; Wasm SIMD has 128-bit vectors.`,
    '',
  ];
}

/** What the default step guard (loss and gradients checked finite before the update) costs: the two rows of the same run. */
function guardCost(list: Row[], ids: readonly WorkloadId[] = ['w1', 'w2']): string[] {
  const on = byName(list, 'flatgrad'), off = byName(list, 'flatgrad without the step guard');
  const parts = ids.flatMap((id) => {
    const a = on?.results[id], b = off?.results[id];
    return a && b ? [`${id.toUpperCase()} ${fmtMs(a.median)} vs ${fmtMs(b.median)} without it: ${(((a.median - b.median) / b.median) * 100).toFixed(1)}%`] : [];
  });
  return parts.length
    ? ['The step guard, on by default (`checkFinite: \'step\'`: one pass checking that the loss and every gradient are finite before the update): ' +
      `${parts.join('; ')} (medians of the rows above, same run; within the MADs, it is noise).`]
    : [];
}

/** C1 against the Wasm SIMD ceiling of as many threads: what share of the arithmetic alone the conv reaches. */
function ceilingShare(label: string, row: Row | undefined, peak: number, target: number): string {
  const a = row?.results.c1;
  if (!a) return `- ${label}: not measured`;
  const share = (gflops('c1', a) / peak) * 100;
  const head = `- ${label} (target ≥ ${target}% of the Wasm SIMD ceiling, ${peak.toFixed(1)} GFLOPS measured in this run): ` +
    `${gflops('c1', a).toFixed(1)} GFLOPS (${fmtMs(a.median)}): ${share.toFixed(0)}%`;
  return share >= target ? `${head}, **met**` : `${head}, **missed** (flatgrad needs ≤ ${msAt(flopsOf('c1'), (peak * target) / 100)})`;
}

/** "a ms, b ms: b/a×" of flatgrad's row against a peer's, or nothing where either is missing. */
function against(f: Row | undefined, p: Row | undefined, id: WorkloadId, label: string): string[] {
  const a = f?.results[id], b = p?.results[id];
  return a && b ? [`${label} ${fmtMs(b.median)} (${(b.median / a.median).toFixed(2)}×)`] : [];
}

/** The conv rows: their table, the issue's conv targets, and flatgrad against each peer. */
function convSection(): string[] {
  const tfc = rows.find((r) => r.name.startsWith('TensorFlow.js') && r.name.endsWith(' cpu'));
  const tfNote = tfw?.notes.w5 ? ' TensorFlow.js wasm cannot train a conv as it comes: it has no `Conv2DBackpropFilter` kernel ' +
    '("Kernel \'Conv2DBackpropFilter\' not registered for backend \'wasm\'", tensorflow/tfjs#8474, open), so its W4 and W5 steps compute the filter\'s gradient' +
    ' as a forward `tf.conv2d` of the transposed input with the transposed dy (XNNPACK), through `tf.customGrad`, and the input\'s as `tf.conv2dTranspose`' +
    ' (bench/peers/tfjs.ts); its second-step losses agree with flatgrad\'s, so its gradients do.' : '';
  return [
    '## Convolutions (the same process)',
    '',
    ...table(rows, fMain, CONV_WORKLOADS),
    '',
    `Cells whose first call took ${SLOW_MS / 1000} s or more are timed once a round, without warm-up: their median is of ${ROUNDS} calls.` +
      ' C1\'s GFLOPS count 2·N·F·C·kh·kw·Ho·Wo. TensorFlow.js runs NHWC (its wasm Conv2D refuses NCHW, and its maxPool is NHWC only): inputs,' +
      ' filters (HWIO) and the first dense layer\'s rows are transposed once, outside the timed step.' + tfNote,
    '',
    ...guardCost(rows, ['w4', 'w5']),
    '',
    '### The conv targets',
    '',
    speedLine('W5 step vs TensorFlow.js wasm', fMain, tfw, 'w5', 2),
    speedLine('W5 step vs jax-js', fMain, jMain, 'w5', 5),
    ceilingShare('C1 on 1 thread', fMain, ceiling.one, 70),
    ceilingShare('C1 on 2 threads', fThreads, ceiling.two, 60) + (ceiling.two < 1.5 * ceiling.one
      ? ` (the two-thread ceiling is barely above one thread's ${ceiling.one.toFixed(1)}: other work held the second core while it was measured)` : ''),
    '',
    'Every peer\'s time, and flatgrad\'s speed-up over it (above 1×: flatgrad faster), flatgrad on 1 thread unless it says 2:',
    '',
    ...CONV_WORKLOADS.map(({ id }) => {
      const f = fMain?.results[id], f2 = fThreads?.results[id];
      if (!f) return `- ${id.toUpperCase()}: not measured`;
      const one = [...against(fMain, np1, id, 'NumPy 1 thread'), ...against(fMain, tfw, id, 'TensorFlow.js wasm'), ...against(fMain, tfc, id, 'TensorFlow.js cpu'),
        ...against(fMain, jMain, id, 'jax-js')];
      const two = [...against(fThreads, np2, id, 'NumPy 2 threads'), ...against(fThreads, np1, id, 'NumPy 1 thread')];
      return `- ${id.toUpperCase()}: flatgrad ${fmtMs(f.median)}: ${one.join(', ')}` + (f2 ? `; flatgrad on 2 threads ${fmtMs(f2.median)}: ${two.join(', ')}` : '');
    }),
    '',
  ];
}

const readableIgnored = WORKLOADS.every((w) => readable.notes?.[w.id] === SAME_SOURCE);
const gitHead = (() => {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'templates'], { cwd: root, encoding: 'utf8' }).trim();
    return `${head}${dirty ? ', with uncommitted changes in src/' : ''}`;
  } catch {
    return 'unknown';
  }
})();
const cpuinfo = (() => {
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (k: string) => text.match(new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm'))?.[1];
    return `, cpu family ${field('cpu family')} model ${field('model')}`;
  } catch {
    return '';
  }
})();

const fmtCheck = (v: number | undefined) => (v === undefined ? '—' : Number(v.toPrecision(7)).toString());
/** The workloads whose second step is checked too: the conv steps. */
const SECOND = SELECTED.filter((w) => w.id === 'w4' || w.id === 'w5');
const rel = (v: number | undefined, ref: number | undefined) => (v === undefined || ref === undefined ? 0 : Math.abs(v - ref) / Math.abs(ref));
const maxRel = (r: Row) => Math.max(0, ...SELECTED.map((w) => rel(r.checks[w.id], fMain?.checks[w.id])), ...SECOND.map((w) => rel(r.seconds?.[w.id], fMain?.seconds?.[w.id])));
const checkRows = [...rows, ...relaxed.rows.map((r) => ({ ...r, name: `${r.name}, relaxed SIMD` }))].filter((r) => !r.absent);

const wasmInfo = tfWasm.info, cpuInfo = tfCpu?.info ?? 'not run';
/** The command as run, with the time per cell where it was set. */
const command = `${process.env.BENCH_TIME_MS ? `BENCH_TIME_MS=${process.env.BENCH_TIME_MS} ` : ''}npm run bench${convOnly ? ` -- conv${fast ? ' fast' : ''}` : ''}`;
const head = [
  convOnly ? '# flatgrad against its peers: the conv rows' : '# flatgrad against its peers',
  '',
  `\`${command}\`, ${new Date().toISOString().slice(0, 10)}: ${cpus()[0]?.model} ×${cpus().length}${cpuinfo}, Node ${process.version}` +
    `${python ? `, Python ${python}` : ''}; flatgrad at ${gitHead}.`,
  `Median ms per call ± MAD (median absolute deviation), single thread everywhere except the rows that say 2 threads; ${TIME_MS} ms per cell in ${ROUNDS} rounds with the rows` +
    ' interleaved (tinybench; Python: time.perf_counter). A step is forward, backward and the SGD update, with the loss read back as a number;' +
    ' a matmul (and C1) reads its output back into JS.',
  `Load average (1 min) ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end, on ${cpus().length} cores` +
    `${Math.max(loadAtStart, loadavg()[0]!) > cpus().length * 0.75 ? ': other work shared the machine, so expect noise' : ''}.`,
  '',
];
const base = [
  '## One process (`node` without flags)',
  '',
  ...table(rows, fMain),
  '',
  readableIgnored
    ? '`compile()` does not honour `{ optimize: false }` yet (same generated source as the default): the readable row repeats the default\'s numbers.'
    : 'flatgrad readable: `compile(g, { ..., optimize: false })`; where its generated source equals the default\'s, the row repeats the default\'s numbers.',
  '',
  ...guardCost(rows),
  '',
  `## flatgrad with relaxed SIMD (second process, \`node --experimental-wasm-relaxed-simd\`: relaxed SIMD ${relaxed.relaxedSimd ? 'on' : 'NOT available'})`,
  '',
  ...table(relaxed.rows, fRelaxed),
  '',
  'jax-js runs in this process too: it uses `f32x4.relaxed_madd` itself when the engine has it, so the relaxed targets are judged against it.',
  '',
  '## The issue\'s targets',
  '',
  speedLine('W1 step vs jax-js', fMain, jMain, 'w1', 3),
  speedLine('W1 step vs TensorFlow.js wasm', fMain, tfw, 'w1', 7),
  speedLine('W2 step vs jax-js', fMain, jMain, 'w2', 1.5),
  gflopsLine('matmul 256³', fMain, 'mm256', 34),
  speedLine('relaxed SIMD: W1 step vs jax-js', fRelaxed, jRelaxed, 'w1', 4, vsMain('w1')),
  speedLine('relaxed SIMD: W2 step vs jax-js', fRelaxed, jRelaxed, 'w2', 2, vsMain('w2')),
  gflopsLine('relaxed SIMD: matmul 256³', fRelaxed, 'mm256', 48),
  '',
  'Threads (`npm run bench -- threads` measures 2 threads against 1 alone, with the hand-off cost):',
  '',
  speedLine('2 threads: W2 step vs NumPy 1 thread', fThreads, np1, 'w2', 1),
  speedLine('2 threads: W1 step vs NumPy 1 thread', fThreads, np1, 'w1', 1 / 1.2, ' (the target: within 1.2× of NumPy)'),
  gflopsLine('2 threads: matmul 512³', fThreads, 'mm512', 105),
  ...(['w1', 'w2', 'mm256', 'mm512'] as const).map((id) => {
    const a = fMain?.results[id], b = fThreads?.results[id], c = np1?.results[id], d = np2?.results[id];
    if (!a || !b) return `- ${id}: not measured`;
    const numpy = c && d ? `; NumPy 1 → 2 threads ${fmtMs(c.median)} → ${fmtMs(d.median)} (${(c.median / d.median).toFixed(2)}×)` : '';
    return `- ${id}: flatgrad 1 → 2 threads ${fmtMs(a.median)} → ${fmtMs(b.median)} (${(a.median / b.median).toFixed(2)}×)${numpy}`;
  }),
  '',
  ...ceilingLines(),
  ...whyMissed(),
];
const checksAndPeers = [
  `## First-step losses on identical data and weights (and ${convOnly ? 'Σ|Y| for C1' : 'Σ|C| for the products, Σ|Y| for C1'})`,
  '',
  `| | ${SELECTED.map((w) => w.check).join(' | ')} | ${SECOND.map((w) => `${w.check}, second step`).join(' | ')} | max relative difference from flatgrad |`,
  `|---|${SELECTED.map(() => '---').join('|')}|${SECOND.map(() => '---').join('|')}|---|`,
  ...checkRows.map((r) => `| ${r.name} | ${SELECTED.map((w) => fmtCheck(r.checks[w.id])).join(' | ')} | ${SECOND.map((w) => fmtCheck(r.seconds?.[w.id])).join(' | ')} |` +
    ` ${maxRel(r).toExponential(1)} |`),
  '',
  'A conv step\'s second loss follows one SGD update: where it agrees, so do the gradients.',
  '',
  `All agree within ${TOLERANCE} relative${disagreements.length ? ' EXCEPT:\n\n' + disagreements.map((d) => `- ${d}`).join('\n') : ''}.`,
  '',
  '## The peers',
  '',
  ...(convOnly ? [] : [`- W1: N ${W1.N}, ${W1.D_in} → ${W1.H} (sigmoid, no bias) → ${W1.D_out}, sum of squared errors, SGD lr ${W1.lr}; x, y, w1, w2 standard normal (the lecture's randn).` +
    ` W2: N ${W2.N}, ${W2.D_in} → ${W2.H} (ReLU, bias) → ${W2.C} (bias), mean softmax cross-entropy over int32 labels, SGD lr ${W2.lr};` +
    ' x uniform in [0, 1), He-initialized weights. Every peer starts from the same arrays (bench/workloads.ts, seeded).']),
  '- flatgrad: `compile()` with default options and `threads: 1` (`threads: 2` in its 2-thread row); `step(feeds, lr)`. Its matmul is a compiled graph `x.matmul(w)` with `w` a param and' +
    ' `x` fed, so each call also copies x into its buffer (256 KiB at 256³) before `forward`.',
  `- TensorFlow.js: \`optimizer.minimize(loss, true)\` with \`tf.train.sgd\`, prod mode; cpu: ${cpuInfo}; wasm: ${wasmInfo}` +
    ' (Node has no web Worker, so no threads). The umbrella `@tensorflow/tfjs` is imported for the gradients.',
  '- jax-js: `init(\'wasm\')`, `jit(valueAndGrad(loss))` with the SGD update inside the jit; single-threaded (no web Worker in Node).' +
    (convOnly ? '' : ' **W1 uses σ(z) = ½·tanh(z/2) + ½ instead of `nn.sigmoid`**, whose gradient is NaN below about −88 (e^−z overflows), which' +
      ' W1\'s randn weights reach (x·w1 has a standard deviation of about 32).'),
  python
    ? '- NumPy: the lecture\'s forward and backward by hand in float32 (bench/peers/numpy.py), OPENBLAS_NUM_THREADS=1 and friends (2 in its 2-thread row);' +
      ' PyTorch: autograd, `torch.set_num_threads(1)`, when installed.'
    : '- NumPy / PyTorch: `python3 -c \'import numpy\'` failed here, so their rows are empty.',
  `- W4: examples/mnist_convnet.ts's graph with SGD (lr ${W4.lr}) in place of its Adam: N ${W4.N}, 1×28×28 → conv 5×5 ${W4.C1} (bias) → ReLU → 2×2 max pool` +
    ` → conv 5×5 ${W4.C2} (bias) → ReLU → pool → ${W4.H} (ReLU, bias) → ${W4.C} (bias), mean softmax cross-entropy. W5: N ${W5.N}, 3×32×32 → conv 7×7` +
    ` ${W5.F}, padding ${W5.pad} (bias) → ReLU → 2×2 max pool → ${W5.H} (ReLU, bias) → ${W5.C} (bias), mean softmax cross-entropy, SGD lr ${W5.lr}.` +
    ' Both: x uniform in [0, 1), uniform labels, He-initialized weights, biases N(0, 0.01²).' +
    ` C1: conv2d of x [${C1.N}, ${C1.C}, ${C1.HW}, ${C1.HW}] (standard normal) with w [${C1.F}, ${C1.C}, 3, 3] (He), padding ${C1.pad}, no bias, forward only,` +
    ' x fed each call (flatgrad copies it into its buffer). Their arrays: bench/workloads.ts makeConvData, seeded. flatgrad: `x.conv2d(w, { padding })`,' +
    ' `.maxPool2d({ kernel: 2 })`, NCHW/OIHW; its readable row does not time C1 (naive loops, many seconds a call); the conv rows are not timed with relaxed SIMD.',
  '- The convnets\' peers: TensorFlow.js `tf.conv2d` and `tf.maxPool`, NHWC; jax-js `lax.convGeneralDilated` (NCHW/OIHW) and `lax.reduceWindow` with `np.max`' +
    ' for the pooling, in the jitted step; NumPy: the course\'s fast layers (conv_forward_strides: an `as_strided` view of the padded input copied into im2col' +
    ' columns, one BLAS matmul; the backward\'s col2im a loop over the kernel\'s taps, where the course has Cython; max pooling by reshaping), the first' +
    ' conv\'s input gradient skipped as every peer may; PyTorch: conv rows not written (not installed here to test them).',
  '',
];
const rest = [
  ...webgpu,
  '',
  '## The earlier in-house comparisons',
  '',
  '```',
  ...legacy,
  '```',
  '',
  `The whole run took ${((performance.now() - started) / 1000).toFixed(0)} s.`,
  '',
];

const done = [`The whole run took ${((performance.now() - started) / 1000).toFixed(0)} s.`, ''];
const report = convOnly ? [...head, ...convSection(), ...checksAndPeers, ...done] : [...head, ...base, ...convSection(), ...checksAndPeers, ...rest];
const text = report.join('\n');
console.log(text);
if (!convOnly) writeResults(join(root, 'bench/RESULTS.md'), 'peers', text); // a conv-only run prints its report, and keeps the file
if (disagreements.length) {
  console.error(`bench: the peers do not compute the same thing:\n  ${disagreements.join('\n  ')}`);
  process.exitCode = 1;
}
// TensorFlow.js and jax-js keep handles open (Wasm, timers); the report is out, so end here.
process.exit();
