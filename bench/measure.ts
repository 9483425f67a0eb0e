// Timing for the peer benchmarks: tinybench runs each (row, workload) in short rounds, rows interleaved and their
// order rotated every round, so a noisy minute on a shared machine spreads over every row instead of landing on one;
// the samples of all rounds are pooled into a median and a MAD (median absolute deviation).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Bench } from 'tinybench';
import { median } from './stats.ts';
import { WORKLOADS, type PeerTasks, type Workload, type WorkloadId } from './workloads.ts';

export interface Stat {
  readonly median: number;
  readonly mad: number;
  readonly samples: number;
}

export interface MeasureOptions {
  /** Time budget per row and workload in ms, split over the rounds. */
  readonly timeMs: number;
  readonly rounds: number;
  /** Fewest timed iterations per round, however slow. */
  readonly minIterations: number;
  readonly log?: (line: string) => void;
  /** Which workloads, in this order (default: WORKLOADS, the base ones). */
  readonly workloads?: readonly Workload[];
}

export function stat(samples: readonly number[]): Stat {
  const s = [...samples].sort((a, b) => a - b);
  const m = median(s);
  return { median: m, mad: median(s.map((v) => Math.abs(v - m)).sort((a, b) => a - b)), samples: s.length };
}

export type Results = Map<string, Partial<Record<WorkloadId, Stat>>>;

/**
 * A task whose first call took this long or longer (a conv on a slow peer: seconds) is timed once a round, without
 * warm-up (its first call warmed it): the median of `rounds` calls, where the usual minimum would take minutes.
 */
export const SLOW_MS = 1000;

/** Times every task of every row; rows without a task for a workload are skipped. */
export async function measure(peers: readonly PeerTasks[], o: MeasureOptions): Promise<Results> {
  const pooled = new Map<string, Partial<Record<WorkloadId, number[]>>>(peers.map((p) => [p.name, {}]));
  for (let r = 0; r < o.rounds; r++) {
    for (const { id } of o.workloads ?? WORKLOADS) {
      const order = peers.map((_, k) => peers[(k + r) % peers.length]!);
      for (const peer of order) {
        const task = peer.tasks[id];
        if (!task) continue;
        await peer.enter?.();
        const slow = (task.firstMs ?? 0) >= SLOW_MS;
        const bench = new Bench({
          time: o.timeMs / o.rounds, iterations: slow ? 1 : o.minIterations, warmup: r === 0 && !slow, warmupTime: 300, warmupIterations: 2,
          retainSamples: true, throws: true,
        });
        bench.add(`${peer.name} ${id}`, task.fn);
        await bench.run();
        const result = bench.tasks[0]!.result as { latency?: { samples?: readonly number[] } };
        const samples = result.latency?.samples;
        if (!samples?.length) throw new Error(`bench: no samples for ${peer.name} ${id}`);
        const pool = (pooled.get(peer.name)![id] ??= []);
        for (const v of samples) pool.push(v); // (a spread of a microsecond task's samples overflows the stack)
      }
      o.log?.(`  round ${r + 1}/${o.rounds}: ${id} done`);
    }
  }
  const results: Results = new Map();
  for (const [name, byId] of pooled) {
    const row: Partial<Record<WorkloadId, Stat>> = {};
    for (const [id, samples] of Object.entries(byId) as [WorkloadId, number[]][]) row[id] = stat(samples);
    results.set(name, row);
  }
  return results;
}

/**
 * bench/RESULTS.md holds six reports: the peers' (`npm run bench`), compile time (`npm run bench -- compile`),
 * a change's before and after (`npm run bench -- versus REV`), WebGPU (`npm run bench -- webgpu`), threads
 * (`npm run bench -- threads`) and subnormals (`npm run bench -- subnormals`), the last five between their markers. Each command rewrites its own part and keeps the others.
 */
const MARKS = {
  compile: ['<!-- compile time: npm run bench -- compile -->', '<!-- end of compile time -->'],
  versus: ['<!-- before and after: npm run bench -- versus REV -->', '<!-- end of before and after -->'],
  webgpu: ['<!-- WebGPU: npm run bench -- webgpu -->', '<!-- end of WebGPU -->'],
  threads: ['<!-- threads: npm run bench -- threads -->', '<!-- end of threads -->'],
  subnormals: ['<!-- subnormals: npm run bench -- subnormals -->', '<!-- end of subnormals -->'],
} as const;

export function writeResults(path: string | URL, part: 'peers' | keyof typeof MARKS, text: string): void {
  let rest = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const parts: Record<string, string> = {};
  for (const [name, [start, end]] of Object.entries(MARKS)) {
    const [a, b] = [rest.indexOf(start), rest.indexOf(end)];
    if (a < 0 || b < a) continue;
    parts[name] = rest.slice(a + start.length, b).trim();
    rest = rest.slice(0, a) + rest.slice(b + end.length);
  }
  parts.peers = rest.trim();
  parts[part] = text.trim();
  const marked = Object.entries(MARKS).flatMap(([name, [start, end]]) => (parts[name] ? [`${start}\n${parts[name]}\n${end}`] : []));
  writeFileSync(path, `${[parts.peers, ...marked].filter(Boolean).join('\n\n')}\n`);
}
