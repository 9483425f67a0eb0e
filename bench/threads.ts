// `npm run bench -- threads`: flatgrad with 2 threads against itself with 1, in the same run (rows interleaved,
// medians): the two-layer nets' steps and the 256³/512³ matmuls, each with its speed-up and a check that the two
// compute the same numbers. BENCH_TIME_MS and BENCH_ROUNDS set the budget.
import { measure } from './measure.ts';
import { flatgradTasks, makeData, WORKLOADS } from './workloads.ts';

const timeMs = Number(process.env.BENCH_TIME_MS ?? 1500);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const data = makeData();
const one = await flatgradTasks(data);
const two = await flatgradTasks(makeData(), { threads: 2 });
const results = await measure([{ name: '1 thread', tasks: one.tasks }, { name: '2 threads', tasks: two.tasks }], { timeMs, rounds, minIterations: 20 });
console.log('| workload | 1 thread (ms) | 2 threads (ms) | speed-up | GFLOPS (2 threads) | same numbers |');
console.log('|---|---|---|---|---|---|');
for (const { id, title, flops } of WORKLOADS) {
  const a = results.get('1 thread')![id]!, b = results.get('2 threads')![id]!;
  const same = one.tasks[id].check === two.tasks[id].check;
  console.log(`| ${title} | ${a.median.toFixed(3)} ± ${a.mad.toFixed(3)} | ${b.median.toFixed(3)} ± ${b.mad.toFixed(3)} | ${(a.median / b.median).toFixed(2)}× | ${flops ? (flops / b.median / 1e6).toFixed(1) : '–'} | ${same ? 'yes' : `no: ${one.tasks[id].check} vs ${two.tasks[id].check}`} |`);
}
process.exit(0); // the 2-thread models' workers are unref'd, but tinybench's timers are not
