// `npm run bench -- versus REV`: did a change make flatgrad slower? flatgrad's rows (bench/flatgrad_only.ts: the
// default, without the step guard, readable; jax-js beside them as a control that did not change) at REV, the
// baseline, and at the working tree, in processes that alternate — before, after, before, after, … — on the same
// machine, so that a drift in the machine's load hits both alike. Reports each side's fastest process (on a shared
// machine a slow spell only ever adds time, so the fastest is the least disturbed; every process's median is
// listed too), their ratio, and whether both computed the same check values (the same arithmetic), and writes its
// part of bench/RESULTS.md. The jax-js row did not change: its ratio shows the noise. VERSUS_ROUNDS (default 5)
// processes per side; BENCH_TIME_MS (default 1500) per cell.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeResults } from './measure.ts';

const rev = process.argv[process.argv.indexOf('versus') + 1];
if (!rev) throw new Error('usage: npm run bench -- versus REV (a git revision to compare the working tree with)');
const ROUNDS = Number(process.env.VERSUS_ROUNDS ?? 5);
const TIME_MS = process.env.BENCH_TIME_MS ?? '1500';
const root = join(import.meta.dirname, '..');
const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
const commit = git('rev-parse', '--short', rev);
const head = git('rev-parse', '--short', 'HEAD');
const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';

interface Run { rows: { name: string; checks: Record<string, number>; results: Record<string, { median: number }> }[] }
const dir = mkdtempSync(join(tmpdir(), 'flatgrad-versus-'));
const tree = join(dir, 'tree');
git('worktree', 'add', '--detach', tree, commit);
const runs: Record<'before' | 'after', Run[]> = { before: [], after: [] };
const load = [loadavg()[0]!];
try {
  symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [side, cwd] of [['before', tree], ['after', root]] as const) {
      const out = join(dir, `${side}_${r}.json`);
      process.stderr.write(`[versus] ${side} ${r + 1}/${ROUNDS}\n`);
      execFileSync(process.execPath, ['--import', 'tsx', 'bench/flatgrad_only.ts', out, TIME_MS, '3', '3'], { cwd, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
      runs[side].push(JSON.parse(readFileSync(out, 'utf8')) as Run);
    }
  }
} finally {
  git('worktree', 'remove', '--force', tree);
  rmSync(dir, { recursive: true, force: true });
}
load.push(loadavg()[0]!);

const lines = [
  `## Before and after: ${commit} against ${head}${dirty ? ' with uncommitted changes' : ''}`,
  '',
  `\`npm run bench -- versus ${rev}\`, ${new Date().toISOString().slice(0, 10)}: ${ROUNDS} processes a side, alternating, ${TIME_MS} ms per cell in each (3 rounds, rows interleaved);` +
    ' ms per call in the fastest process of each side (every process\'s median in brackets, in the order run).' +
    ` ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}, plain SIMD; load average ${load.map((l) => l.toFixed(1)).join(' at the start, ')} at the end.`,
  '',
  '| row | workload | before, ms | after, ms | after / before | same check values |',
  '|---|---|---|---|---|---|',
];
for (const [k, row] of runs.after[0]!.rows.entries()) {
  for (const task of Object.keys(row.results)) {
    const of = (side: 'before' | 'after') => runs[side].map((run) => run.rows[k]!.results[task]!.median);
    const [b, a] = [of('before'), of('after')];
    const same = runs.before[0]!.rows[k]!.checks[task] === row.checks[task];
    const each = (xs: number[]) => `${Math.min(...xs).toFixed(3)} [${xs.map((x) => x.toFixed(3)).join(', ')}]`;
    lines.push(`| ${row.name} | ${task} | ${each(b)} | ${each(a)} | ${(Math.min(...a) / Math.min(...b)).toFixed(3)} | ${same ? 'yes' : 'no'} |`);
  }
}
console.log(lines.join('\n'));
writeResults(join(root, 'bench/RESULTS.md'), 'versus', lines.join('\n'));
