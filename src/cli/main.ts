import { Command, InvalidArgumentError } from 'commander';
import { FlatgradError } from '../errors/errors.ts';
import { VERSION } from '../version.ts';
import { DEFAULT_THREADS, type CompileOptions } from '../runtime/compile.ts';
import { writeFileSync } from 'node:fs';
import type { Graph } from '../graph/graph.ts';
import { explain } from '../learn/explain.ts';
import { drawGraph } from '../learn/picture.ts';
import { atModelFile, checkTypes, loadModelFile, readFeedsFile, writeModelModule } from './model-file.ts';

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

function threadsOption(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 64) throw new InvalidArgumentError(`expected an integer from 1 to 64, got '${value}'`);
  return Number(value);
}

/** `flatgrad compile`'s flags, as commander parses them. */
interface CompileFlags {
  readonly dims?: Record<string, number>;
  readonly out: string;
  readonly dtype?: 'f32' | 'f64';
  readonly readable?: boolean;
  readonly checkFinite?: boolean;
  readonly wasm?: boolean;
  readonly threads?: number;
  readonly target?: string;
  readonly js?: boolean;
  readonly checkTypes?: boolean;
}

const program = new Command()
  .name('flatgrad')
  .description('Compile a neural network graph into flat forward/backward TypeScript.')
  .version(VERSION);

program
  .command('compile')
  .description('write the generated module of a model file')
  .argument('<model>', 'the model file, e.g. examples/two_layer_net.ts')
  .option('-d, --dims <NAME=SIZE,...>', 'bind symbolic dims (repeatable; overrides the file)', dimsOption)
  .option('-o, --out <dir>', 'output folder', 'generated')
  .option('--dtype <f32|f64>', 'float buffers (default: the file\'s, else f32)')
  .option('--readable', 'the readable mode: one statement or loop per node, no passes or fusion (optimize: false)')
  .option('--check-finite', 'check every value for NaN and ±Infinity as it is made, naming the node (slow: for debugging)')
  .option('--no-check-finite', 'check nothing, not even the loss and gradients before each update (the default checks those)')
  .option('--no-wasm', 'TypeScript loops only, no WebAssembly kernels')
  .option(
    '--threads <n>',
    `the most threads the module's large matmuls and loops are split for (default ${DEFAULT_THREADS}; 1: one thread, no workers); createModel runs on as many as the machine has cores, up to this`,
    threadsOption,
  )
  .option('--target <cpu|webgpu>', 'cpu (default): TypeScript with Wasm SIMD kernels; webgpu: WGSL kernels and a WebGPU host, written to <graph name>.webgpu.ts')
  .option('--js', 'write JavaScript (<graph name>.js, the types stripped) for an app without a TypeScript build')
  .option('--check-types', "type-check the model file first (needs the typescript package); without it a TypeScript model file's types are stripped, not checked")
  .addHelpText('after', `
The model file's default export is its graph and compile options:
  export default { graph: g, loss, dims: { N: 64 }, optimizer: { adam: {} }, outputs: { scores } };
loss is optional (an inference-only module computes the outputs). What the flags above do not cover
(optimizer, outputs, wrt, checkFinite: 'step') goes in the file; a flag given here overrides the file.
The module is written to <out>/<graph name>.ts (<graph name>.webgpu.ts for --target webgpu, .js with --js).
A TypeScript model file needs no TypeScript loader: flatgrad bundles it with esbuild, which strips its types
without checking them; --check-types runs the TypeScript checker on it first.`)
  .action(async (model: string, opts: CompileFlags) => {
    if (opts.checkTypes) await checkTypes(model);
    if (opts.target !== undefined && opts.target !== 'cpu' && opts.target !== 'webgpu') throw new FlatgradError(`--target must be cpu or webgpu, got '${opts.target}'`);
    const overrides: Partial<CompileOptions> = {
      ...(opts.target ? { target: opts.target as 'cpu' | 'webgpu' } : {}),
      dims: opts.dims,
      ...(opts.dtype ? { dtype: opts.dtype } : {}),
      ...(opts.readable ? { optimize: false } : {}),
      ...(opts.checkFinite !== undefined ? { checkFinite: opts.checkFinite } : {}),
      ...(opts.wasm === false ? { wasm: false } : {}),
      ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    };
    const file = await writeModelModule(model, opts.out, overrides, opts.js === true);
    console.log(`wrote ${file}`);
  });

/** A command that shows a model file's values: its model, feeds file, dims and seed. */
const withValues = (name: string, description: string) =>
  program
    .command(name)
    .description(description)
    .argument('<model>', 'the model file, e.g. examples/lecture/sigmoid_neuron.ts')
    .option('-f, --feeds <file.json>', "a JSON object of the inputs' values (and any params', else a model's seeded init)")
    .option('-d, --dims <NAME=SIZE,...>', 'bind symbolic dims (repeatable; overrides the file)', dimsOption)
    .option('--seed <n>', 'the seed of the params not in the feeds file', (v) => Number(v), 0);

withValues('graph', "draw a model file's graph like the lecture's slides: each wire's value above it, its gradient below (without --feeds, its shape)")
  .option('--format <svg|dot>', 'SVG laid out by Graphviz (WebAssembly), or the DOT text', 'svg')
  .requiredOption('-o, --out <file>', 'where to write the picture; - for stdout')
  .action(async (model: string, opts: { feeds?: string; dims?: Record<string, number>; seed: number; format: string; out: string }) => {
    if (opts.format !== 'svg' && opts.format !== 'dot') throw new FlatgradError(`--format must be svg or dot, got '${opts.format}'`);
    const { graph, loss, outputs, wrt, dims, optimize } = await loadModelFile(model);
    const { feeds, params } = splitFeeds(graph, opts.feeds);
    // No feeds file: the structure, each wire's shape (a feeds file missing an input is still an error).
    const given = opts.feeds === undefined ? {} : { feeds };
    const format = opts.format; // checked above: svg or dot
    const text = await atModelFile(model, () => drawGraph(graph, { loss, outputs, wrt, dims: { ...dims, ...opts.dims }, ...given, params, seed: opts.seed, format, source: opts.feeds, optimize }));
    if (opts.out === '-') {
      process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      return;
    }
    writeFileSync(opts.out, text);
    console.log(`wrote ${opts.out}`);
  });

withValues('explain', "backprop gate by gate: each chain-rule step of a model file's loss, [downstream] = [local] × [upstream], with values")
  .action(async (model: string, opts: { feeds?: string; dims?: Record<string, number>; seed: number }) => {
    const { graph, loss, wrt, dims } = await loadModelFile(model);
    if (!loss) throw new FlatgradError(`explain: model file '${model}' has no loss to backpropagate from`);
    const { feeds, params } = splitFeeds(graph, opts.feeds);
    console.log((await atModelFile(model, () => explain(graph, { loss, wrt, dims: { ...dims, ...opts.dims }, feeds, params, seed: opts.seed, source: opts.feeds }))).text);
  });

/** A feeds file's values, split into the graph's params and its inputs' feeds. */
function splitFeeds(graph: Graph, file?: string): { feeds: Record<string, number | number[]>; params: Record<string, number | number[]> } {
  const values = file ? readFeedsFile(file) : {};
  const isParam = (k: string) => graph.params().some((p) => p.name === k);
  return {
    feeds: Object.fromEntries(Object.entries(values).filter(([k]) => !isParam(k))),
    params: Object.fromEntries(Object.entries(values).filter(([k]) => isParam(k))),
  };
}

try {
  await program.parseAsync();
} catch (e) {
  if (!(e instanceof FlatgradError)) throw e;
  console.error(`flatgrad: ${e.message}`);
  process.exitCode = 1;
}
