// Every emitted module type-checks under tsc's strictest options (@tsconfig/strictest's, and what `tsc --init` turns on:
// noUncheckedIndexedAccess, exactOptionalPropertyTypes, verbatimModuleSyntax…): a user's project compiles it as it is.
import { Project, ts } from 'ts-morph';
import { expect, it } from 'vitest';
import { STRICTEST } from '../support/helpers.ts';
import { allOps, emit, graph, mulberry32 } from '../../src/index.ts';
import { modelFiles } from '../../scripts/generate.ts';
import { loadModelFile } from '../../src/cli/model-file.ts';

async function emittedModules(): Promise<Map<string, string>> {
  const modules = new Map<string, string>();
  for (const [file, , overrides] of modelFiles) {
    const { graph: g, ...options } = await loadModelFile(file);
    if (overrides?.target === 'webgpu') modules.set(`${g.name}.webgpu.ts`, emit(g, { ...options, ...overrides }));
    else for (const dtype of ['f32', 'f64'] as const) modules.set(`${g.name}_${dtype}.ts`, emit(g, { ...options, dtype }));
  }
  for (const op of allOps()) {
    const g = graph(`sample_${op.name}`);
    const out = op.sample(g, mulberry32(7));
    const x = g.input('x', out.shape);
    modules.set(`${op.name}.ts`, emit(g, { loss: out.mul(x).sum(), outputs: { out } }));
    modules.set(`${op.name}_forward.ts`, emit(g, { outputs: { out } }));
  }
  // A scalar graph with a param the loss ignores, and an integer input.
  const g = graph('odd_corners');
  const a = g.param('a', []);
  g.param('unused', [], { init: 'zeros' });
  g.input('labels', [3], 'i32');
  modules.set('odd_corners.ts', emit(g, { loss: a.square() }));
  modules.set('odd_corners_checked.ts', emit(g, { loss: a.square(), checkFinite: true }));
  // Integer labels, index checks, and checkFinite on a tensor graph.
  const c = graph('classifier');
  const scores = c.input('x', ['N', 3]).matmul(c.param('w', [3, 4]));
  const loss = scores.softmaxCrossEntropy(c.input('labels', ['N'], 'i32'));
  for (const checkFinite of [false, true]) modules.set(`classifier_${checkFinite}.ts`, emit(c, { loss, dims: { N: 5 }, checkFinite }));
  // Threads: the pool, its shares and dispose().
  const t = graph('threaded');
  const tx = t.input('x', [64, 128]);
  modules.set('threaded.ts', emit(t, { loss: tx.matmul(t.param('w', [128, 64])).relu().sum(), threads: 2, optimizer: { adam: {} } }));
  // WebGPU hosts: with Adam (its step state), and forward-only with an output.
  modules.set('classifier.webgpu.ts', emit(c, { loss, dims: { N: 5 }, target: 'webgpu', optimizer: { adam: {} } }));
  modules.set('classifier_forward.webgpu.ts', emit(c, { outputs: { scores }, dims: { N: 5 }, target: 'webgpu' }));
  // A WebGPU host with nothing seeded reads no option.
  const z = graph('zero_init');
  modules.set('zero_init.webgpu.ts', emit(z, { loss: z.input('x', [4, 3]).matmul(z.param('w', [3, 2], { init: 'zeros' })).sum(), target: 'webgpu' }));
  return modules;
}

it("emitted modules type-check under tsc's strictest options", async () => {
  const modules = await emittedModules();
  const project = new Project({
    useInMemoryFileSystem: true,
    compilerOptions: { ...STRICTEST, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'] },
  });
  for (const [name, source] of modules) project.createSourceFile(`/gen/${name}`, source);
  const problems = project.getPreEmitDiagnostics().map((d) => `${d.getSourceFile()?.getBaseName()}:${d.getLineNumber()}: ${ts.flattenDiagnosticMessageText(d.getMessageText() as string, '\n')}`);
  expect(problems).toEqual([]);
  expect(modules.size).toBeGreaterThan(40);
});
