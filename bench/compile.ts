// `npm run bench -- compile`: how compile time grows with the graph. Graphs of 1,000 to 100,000 nodes (forward and
// backward: what grad() adds is part of the graph compiled) of three kinds — a deep chain of elementwise ops, a wide
// sum of scalar losses, and a stack of small dense layers — are built, compiled (optimized, the default) and loaded,
// and every stage is timed: building the graph (the user's code), grad, binding dims, the program copy, the passes,
// lowering (fusion, memory plan), emitting TypeScript, loading it (esbuild, then run as a function) and createModel.
// The µs per node should stay flat (linear compile time). Prints a markdown table and writes it into
// bench/RESULTS.md (its compile-time part), beside the same graphs' times before the compiler was made linear.
// COMPILE_SIZES overrides the sizes (comma-separated node counts).
import { cpus } from 'node:os';
import { compile, graph, type Graph, type StageTimer, type Tensor } from '../src/index.ts';
import { writeResults } from './measure.ts';

const SIZES = (process.env.COMPILE_SIZES ?? '1000,10000,100000').split(',').map(Number);
const STAGES = ['build', 'grad', 'dims', 'program', 'passes', 'lower', 'emit', 'load', 'create'] as const;

interface Built { g: Graph; loss: Tensor }

/** The three kinds of graph; `n` forward nodes make about `n · perNode` in all, once grad() has run. */
const KINDS: Record<string, { perNode: number; make: (n: number) => Built }> = {
  'chain of tanh': {
    perNode: 5,
    make: (n) => {
      const g = graph('chain');
      let h = g.param('x', [4, 8]);
      while (g.nodes.length < n - 1) h = h.tanh();
      return { g, loss: h.sum() };
    },
  },
  'sum of scalar losses': {
    perNode: 3.25,
    make: (n) => {
      const g = graph('wide');
      const w = g.param('w', [4]);
      let loss = w.mul(0.5).sum();
      for (let k = 1; g.nodes.length < n - 4; k++) loss = loss.add(w.mul(k % 7).sum());
      return { g, loss };
    },
  },
  'dense layers': {
    perNode: 3.2,
    make: (n) => {
      const g = graph('layers');
      let h = g.input('x', [4, 8]);
      for (let k = 0; g.nodes.length < n - 2; k++) h = h.matmul(g.param(`w${k}`, [8, 8], { init: 'xavier' })).add(g.param(`b${k}`, [8], { init: 'zeros' })).tanh();
      return { g, loss: h.square().mean() };
    },
  },
};

// Once, untimed: esbuild's service starts with the first transform, and the compiler's own code warms up.
for (const { make } of Object.values(KINDS)) {
  const { g, loss } = make(200);
  await compile(g, { loss });
}

const rows: string[] = [];
for (const [kind, { perNode, make }] of Object.entries(KINDS)) {
  for (const size of SIZES) {
    const n = Math.round(size / perNode);
    // Small graphs compile in milliseconds, so they run several times and the median run counts.
    const runs: { ms: Record<string, number>; total: number; forward: number; nodes: number }[] = [];
    for (let r = 0; r < Math.max(1, Math.round(30_000 / size)); r++) {
      const ms: Record<string, number> = {};
      const time: StageTimer = (stage, run) => {
        const t0 = performance.now();
        const done = (v: unknown) => ((ms[stage] = (ms[stage] ?? 0) + performance.now() - t0), v);
        const result = run();
        return (result instanceof Promise ? result.then(done) : done(result)) as typeof result;
      };
      const { g, loss } = time('build', () => make(n));
      const forward = g.nodes.length;
      await compile(g, { loss }, time);
      runs.push({ ms, total: STAGES.reduce((a, s) => a + (ms[s] ?? 0), 0), forward, nodes: g.nodes.length });
    }
    if (runs.length > 2) runs.shift(); // the first run at a size warms up what the last size did not
    const { ms, total, forward, nodes } = runs.sort((a, b) => a.total - b.total)[runs.length >> 1]!;
    const cells = STAGES.map((s) => (ms[s] ?? 0).toFixed(s === 'create' || total < 200 ? 1 : 0));
    rows.push(`| ${kind} | ${forward.toLocaleString('en')} | **${nodes.toLocaleString('en')}** | ${cells.join(' | ')} | **${(total / 1000).toFixed(2)} s** | ${((total / nodes) * 1000).toFixed(1)} |`);
    process.stderr.write(`${rows.at(-1)}\n`);
  }
}

/**
 * The same graphs compiled by flatgrad at 997eeeb (2026-11-26), before compile time was made linear and any depth
 * allowed: one run each after one untimed compile, `node --import tsx` on this machine, 2026-11-30. Total only.
 */
const BEFORE: readonly [string, string, string, string][] = [
  ['chain of tanh', '995', '0.12 s', '123'],
  ['chain of tanh', '9,995', '1.32 s', '132'],
  ['chain of tanh', '99,995', 'RangeError: Maximum call stack size exceeded (in loads, src/lower/kernel.ts)', '—'],
  ['sum of scalar losses', '986', '0.11 s', '106'],
  ['sum of scalar losses', '9,995', '0.77 s', '77'],
  ['sum of scalar losses', '99,994', 'RangeError: Maximum call stack size exceeded', '—'],
  ['dense layers', '1,003', '0.15 s', '150'],
  ['dense layers', '10,011', '1.43 s', '143'],
  ['dense layers', '100,011', '42.3 s', '423'],
];

const report = [
  '## Compile time by graph size',
  '',
  `\`npm run bench -- compile\`, ${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model} ×${cpus().length}, Node ${process.version}.`,
  'ms per stage for one compile (optimized, the default options; the median of several for the smaller graphs) of a graph of `nodes`',
  'nodes: the `forward` ones the user built and',
  'the backward ones grad() adds. `build` is the user\'s graph-building code (each node records where it was made); `load` is esbuild',
  'plus running the module; `create` is createModel() (the arena, the Wasm kernels). After one untimed compile of each kind (esbuild',
  '\'s service starts, the compiler\'s code warms up), the µs per node should stay flat as graphs grow: compile time linear in nodes.',
  '',
  `| graph | forward | nodes | ${STAGES.join(' | ')} | total | µs per node |`,
  `|---|---|---|${STAGES.map(() => '---').join('|')}|---|---|`,
  ...rows,
  '',
  '### Before: flatgrad at 997eeeb',
  '',
  'The same graphs and sizes, before grad() scanned each node once, lowering and the memory plan stopped searching',
  'lists, sites were captured lazily, and fusion bounded how deep an expression nests: total seconds for build and',
  'compile, one run each (2026-11-30, the same machine).',
  '',
  '| graph | nodes | total | µs per node |',
  '|---|---|---|---|',
  ...BEFORE.map(([kind, nodes, total, per]) => `| ${kind} | ${nodes} | ${total} | ${per} |`),
  '',
];
writeResults(new URL('RESULTS.md', import.meta.url), 'compile', report.join('\n'));
console.log(report.join('\n'));
