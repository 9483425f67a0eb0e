// `npm run bench`: flatgrad against its peers (bench/index.ts). `npm run bench -- compile`: compile time by graph size
// (bench/compile.ts). `npm run bench -- versus REV`: flatgrad at REV against the working tree (bench/versus.ts).
// `npm run bench -- webgpu`: the WebGPU target against the CPU path (bench/webgpu.ts). `npm run bench -- threads`:
// 2 threads against 1 (bench/threads.ts). `npm run bench -- subnormals`: a step with f32 subnormals flushed against
// kept (bench/subnormals.ts). `npm run bench -- conv [fast]`: the peers on the conv workloads alone, printed, not
// written to bench/RESULTS.md (`fast`: without TensorFlow.js cpu and jax-js, the slow ones) (bench/index.ts).
// `npm run bench -- segments [w4|w5|c1] [THREADS] [CALLS]`: where a conv workload's call spends its time, by kind of
// statement (bench/segments.ts).
const args = process.argv.slice(2);
if (args.includes('compile')) await import('./compile.ts');
else if (args.includes('versus')) await import('./versus.ts');
else if (args.includes('webgpu')) await import('./webgpu.ts');
else if (args.includes('threads')) await import('./threads.ts');
else if (args.includes('subnormals')) await import('./subnormals.ts');
else if (args.includes('segments')) await import('./segments.ts');
else await import('./index.ts');
