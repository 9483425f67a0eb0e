// The WebGPU benchmark on the GPU machine (bundled by build.ts into .gpu/bench/run.mjs with the models it generates
// ahead of time): Dawn for Node on the machine's own Vulkan driver, against the CPU path of the same generated
// models. Prints the report; writes it and the figures as JSON to $OUT when set (the device tool brings $OUT back).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { adapterDescription, defaultDevice } from '../../src/runtime/webgpu.ts';
import { benchWebGpu, type CpuLike, type GpuLike, type WorkloadId } from '../../bench/webgpu-core.ts';

type Cpu = { createModel(o: { seed?: number }): unknown };
type Gpu = { createModel(device: GPUDevice, o: { seed?: number }): Promise<unknown> };

/** Runs the benchmark on the generated models, [CPU module, WebGPU module] by workload (.gpu/bench/entry.ts passes them). */
export async function runOnDevice(modules: Record<WorkloadId, [Cpu, Gpu]>): Promise<void> {
  const device = await defaultDevice('scripts/gpu-machine/run.ts');
  const result = await benchWebGpu({
    adapter: adapterDescription(device),
    where: 'on the GPU machine (scripts/gpu-machine/)',
    quick: process.argv.includes('--quick'),
    log: (line) => process.stderr.write(`${line}\n`),
    async models(w) {
      const [cpu, webgpu] = modules[w.id];
      return { gpu: (await webgpu.createModel(device, { seed: 0 })) as GpuLike, cpu: cpu.createModel({ seed: 0 }) as CpuLike };
    },
  });
  console.log(result.text);
  if (process.env.OUT) {
    writeFileSync(join(process.env.OUT, 'webgpu-bench.md'), result.text);
    writeFileSync(join(process.env.OUT, 'webgpu-bench.json'), JSON.stringify(result, null, 2));
  }
  process.exit(0);
}
