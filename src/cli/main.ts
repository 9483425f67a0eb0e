import { Command, InvalidArgumentError } from 'commander';
import { FlatgradError } from '../graph/errors.ts';
import { VERSION } from '../version.ts';
import { writeModelModule } from './model-file.ts';

function dimsOption(value: string, previous: Record<string, number> = {}): Record<string, number> {
  const out = { ...previous };
  for (const part of value.split(',')) {
    const m = /^([A-Za-z_]\w*)=(\d+)$/.exec(part.trim());
    if (!m) throw new InvalidArgumentError(`expected NAME=SIZE, such as N=64, got '${part}'`);
    if (m[1]! in out && out[m[1]!] !== Number(m[2])) throw new InvalidArgumentError(`dim '${m[1]}' is bound twice: ${out[m[1]!]} and ${m[2]}`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

const program = new Command()
  .name('flatgrad')
  .description('Compile a neural network graph into flat forward/backward TypeScript.')
  .version(VERSION);

program
  .command('compile')
  .description('write the generated module of a model file (its default export: { graph, loss, ... })')
  .argument('<model>', 'the model file, e.g. examples/two_layer_net.ts')
  .option('-d, --dims <NAME=SIZE,...>', 'bind symbolic dims (repeatable)', dimsOption)
  .option('-o, --out <dir>', 'output folder', 'generated')
  .option('--dtype <f32|f64>', 'float buffers')
  .action(async (model: string, opts: { dims?: Record<string, number>; out: string; dtype?: 'f32' | 'f64' }) => {
    const file = await writeModelModule(model, opts.out, { dims: opts.dims, ...(opts.dtype ? { dtype: opts.dtype } : {}) });
    console.log(`wrote ${file}`);
  });

try {
  await program.parseAsync();
} catch (e) {
  if (!(e instanceof FlatgradError)) throw e;
  console.error(`flatgrad: ${e.message}`);
  process.exitCode = 1;
}
