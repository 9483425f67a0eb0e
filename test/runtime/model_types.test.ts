// The README's patterns type-check as a user writes them, under `tsc --init`'s options (strict,
// noUncheckedIndexedAccess, exactOptionalPropertyTypes); the model types are one, each member declared once; and
// every model has the same members at run time.
import { Project, ts } from 'ts-morph';
import { describe, expect, it } from 'vitest';
import { compile, emit, graph, type Model } from '../../src/index.ts';
import { loadModule } from '../../src/runtime/load.ts';
import { thrownError } from '../support/helpers.ts';

const root = new URL('../..', import.meta.url).pathname;

function classifier(name = 'typed_net') {
  const g = graph(name);
  const x = g.input('x', ['N', 3]);
  const labels = g.input('labels', ['N'], 'i32');
  const scores = x.matmul(g.param('w', [3, 4])).add(g.param('b', [4], { init: 'zeros' })).named('scores');
  return { g, scores, loss: scores.softmaxCrossEntropy(labels) };
}

/** The type errors of `app` (a file beside the generated module), as `line: message`. */
function typeErrors(app: string): string[] {
  const { g, loss, scores } = classifier();
  const project = new Project({
    skipAddingFilesFromTsConfig: true,
    compilerOptions: {
      // `tsc --init` (TypeScript 6), and paths to this repository's source in place of the installed package
      module: ts.ModuleKind.NodeNext, target: ts.ScriptTarget.ESNext, strict: true, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true,
      verbatimModuleSyntax: true, isolatedModules: true, skipLibCheck: true, noEmit: true, allowImportingTsExtensions: true, types: ['node', '@webgpu/types'],
      paths: { flatgrad: [`${root}src/index.ts`], 'flatgrad/runtime': [`${root}src/runtime/index.ts`] },
    },
  });
  project.createSourceFile(`${root}test/.types/generated/typed_net.ts`, emit(g, { loss, outputs: { scores }, dims: { N: 2 } }), { overwrite: true });
  project.createSourceFile(`${root}test/.types/generated/typed_net_forward.ts`, emit(g, { outputs: { scores }, dims: { N: 2 } }), { overwrite: true });
  const file = project.createSourceFile(`${root}test/.types/app.ts`, app, { overwrite: true });
  return file.getPreEmitDiagnostics().map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.compilerObject.messageText, '\n').split('\n').slice(0, Number(process.env.TYPE_LINES ?? 1)).join(' | ');
    return `${d.getLineNumber()}: ${message}`;
  });
}

const prelude = `import { batches, compile, graph, type Model } from 'flatgrad';
import { createModel } from './generated/typed_net.ts';
const data = { x: { values: new Float32Array(12), shape: [4, 3] }, labels: { values: new Int32Array(4), shape: [4] } };
const g = graph('in_process');
const x = g.input('x', ['N', 3]);
const scores = x.matmul(g.param('w', [3, 4])).named('scores');
const loss = scores.softmaxCrossEntropy(g.input('labels', ['N'], 'i32'));
`;

describe("the README's patterns type-check under tsc --init", () => {
  it('batches into a generated module, typed params, threads members on every model, compile<P> and its outputs, the WebGPU step', () => {
    const errors = typeErrors(`${prelude}
const train = batches(data, { batchSize: 2 });
const model = createModel({ seed: 1 });
for (let e = 0; e < 2; e++) for (const feeds of train.epoch(e)) model.step(feeds, 0.1);
for (const { feeds } of train.stream()) { model.step(feeds, 0.1); break; }
const w: Float32Array = model.params.w;
const n: number = model.workers.length;
await model.ready();
model.dispose();

const inProcess = await compile<'w'>(g, { loss, dims: { N: 2 } });
const w2: Float32Array | Float64Array = inProcess.params.w;
const g2: Float32Array | Float64Array = inProcess.grads.w;
const withOutputs = await compile(g, { loss, outputs: { scores }, dims: { N: 2 } });
const s: Float32Array | Float64Array = withOutputs.outputs.scores;
for (const feeds of train.epoch(0)) withOutputs.step(feeds, 0.1);
const m: number = inProcess.workers.length + withOutputs.workers.length;
await inProcess.ready();
inProcess.dispose();

const gpu = await compile(g, { loss, dims: { N: 2 }, target: 'webgpu' });
const enqueued = gpu.step({ x: new Float32Array(6), labels: [0, 1] }, 0.1);
const lossValue: number = await gpu.loss();
export { w, n, w2, g2, s, m, enqueued, lossValue };
`);
    expect(errors).toEqual([]);
  });

  it('what the types refuse: assigning a buffer, a WebGPU step taken for its loss, a name the module lacks', () => {
    const errors = typeErrors(`${prelude}
const model = createModel();
model.params.w = new Float32Array(12);
const gpu = await compile(g, { loss, dims: { N: 2 }, target: 'webgpu' });
const l: number = gpu.step({ x: new Float32Array(6), labels: [0, 1] }, 0.1);
const missing = model.params.v;
const inProcess = await compile(g, { loss, dims: { N: 2 } });
const maybe: Float32Array | Float64Array = inProcess.params.w;
export { l, missing, maybe, batches, data };
`);
    expect(errors).toEqual([
      "10: Cannot assign to 'w' because it is a read-only property.",
      "12: Type 'Enqueued' is not assignable to type 'number'.",
      "13: Property 'v' does not exist on type '{ readonly w: Float32Array<ArrayBufferLike>; readonly b: Float32Array<ArrayBufferLike>; }'.",
      // without compile<'w'>, a param's name is any string: under noUncheckedIndexedAccess it may be undefined
      "15: Type 'FloatBuffer | undefined' is not assignable to type 'Float32Array<ArrayBufferLike> | Float64Array<ArrayBufferLike>'.",
    ]);
  });
});

describe('one model type', () => {
  it('a compiled Model, a generated module (with a loss or forward only) and a WebGPU snapshot are what predict, evaluate and checkpoints take; CreateModel takes each option', () => {
    const errors = typeErrors(`${prelude}
import { evaluate, predict, saveCheckpoint, type CheckpointModel, type EvaluatedModel, type GeneratedModel, type GpuSnapshot, type InputSpec, type PredictModel } from 'flatgrad';
import type { CreateModel } from 'flatgrad/runtime';
import { createModel as createForward } from './generated/typed_net_forward.ts';
import type { Feed } from '../../templates/prelude/check_feeds.ts';
const model = createModel();
const forwardOnly = createForward();
const compiled = await compile(g, { loss, outputs: { scores }, dims: { N: 2 } });
const gpu = await compile(g, { loss, dims: { N: 2 }, target: 'webgpu' });
const snapshot: GpuSnapshot = await gpu.snapshot();
const generated: GeneratedModel = compiled;
const predicted: PredictModel[] = [model, forwardOnly, compiled];
const evaluated: EvaluatedModel[] = [model, compiled];
const saved: CheckpointModel[] = [model, forwardOnly, compiled, snapshot];
const specs: InputSpec[] = [...model.inputs, ...forwardOnly.inputs, ...compiled.inputs, ...gpu.inputs, {} as Feed];
const out = predict(forwardOnly, { x: [1, 2, 3] });
const evaluation = evaluate(model, data);
const bytes = saveCheckpoint(snapshot);
declare const make: CreateModel;
const threaded = make({ seed: 1, simd: false, threads: 2 });
export { generated, predicted, evaluated, saved, specs, out, evaluation, bytes, threaded };
`);
    expect(errors).toEqual([]);
  });

  it("each member is declared once: predict's, evaluate's and a checkpoint's models are Picks of Model, which is GeneratedModel and its source", () => {
    const compilerOptions = { allowImportingTsExtensions: true, noEmit: true, module: ts.ModuleKind.NodeNext, types: ['node', '@webgpu/types'] };
    const project = new Project({ skipAddingFilesFromTsConfig: true, compilerOptions });
    const names = ['PredictModel', 'EvaluatedModel', 'CheckpointModel', 'Model', 'GpuModel', 'GpuSnapshot'];
    const app = `import type { ${names.join(', ')} } from '../../src/index.ts';\nexport type All = [${names.join(', ')}];`;
    const file = project.createSourceFile(`${root}test/.types/declared.ts`, app, { overwrite: true });
    // The interface each member of each type is declared in (or the file of the type literal declaring it).
    const elements = file.getTypeAliasOrThrow('All').getType().getTupleElements();
    const declared = Object.fromEntries(names.map((n, k) => [n, Object.fromEntries(elements[k]!.getProperties().map((p) => {
      const d = p.getDeclarations()[0]!;
      return [p.getName(), d.getParentIfKind(ts.SyntaxKind.InterfaceDeclaration)?.getName() ?? d.getSourceFile().getBaseName()];
    }))]));
    const generated = (...keys: string[]) => Object.fromEntries(keys.map((k) => [k, 'GeneratedModel']));
    expect(declared.PredictModel).toEqual({ ...generated('inputs', 'outputs'), forward: 'predict.ts' });
    expect(declared.EvaluatedModel).toEqual({ ...generated('inputs', 'outputs'), forward: 'data.ts' });
    expect(declared.CheckpointModel).toEqual({ ...generated('params', 'state', 'shapes'), source: 'Model', name: 'GpuSnapshot' });
    expect(declared.Model).toMatchObject({ ...generated('params', 'grads', 'outputs', 'state', 'shapes', 'inputs', 'forward', 'step', 'workers'), source: 'Model' });
    expect(declared.GpuSnapshot).toEqual({ ...generated('shapes'), name: 'GpuSnapshot', params: 'GpuSnapshot', state: 'GpuSnapshot' });
    expect(declared.GpuModel).toMatchObject(generated('shapes', 'inputs'));
  });
});

describe('every model has the same members', () => {
  it('workers, ready and dispose on a model without threads: in process, a generated tensor module, a scalar one', async () => {
    const { g, loss } = classifier('unthreaded');
    const inProcess = await compile(g, { loss, dims: { N: 2 }, threads: 1 });
    const s = graph('scalar');
    const scalar = await loadModule<{ createModel(): Model }>(emit(s, { loss: s.param('a', []).square() }), 'scalar');
    for (const model of [inProcess, scalar.createModel()]) {
      expect(model.workers).toEqual([]);
      await expect(model.ready()).resolves.toBeUndefined();
      expect(model.dispose()).toBeUndefined();
    }
  });

  it('assigning a param, gradient, output or state buffer throws with the hint to use .set(); the model keeps working', async () => {
    const { g, loss, scores } = classifier('assigned');
    const model = await compile(g, { loss, outputs: { scores }, dims: { N: 2 }, optimizer: { adam: {} }, threads: 1 });
    const w = model.params.w;
    const e = thrownError(() => ((model.params as Record<string, unknown>).w = new Float32Array(12)));
    expect(e.name).toBe('FlatgradError');
    expect(e.message).toBe('model.params.w cannot be replaced: the model computes in its own buffer; copy values into it with model.params.w.set(values)');
    expect(() => ((model.grads as Record<string, unknown>).b = new Float32Array(4))).toThrow('model.grads.b cannot be replaced');
    expect(() => ((model.outputs as Record<string, unknown>).scores = new Float32Array(8))).toThrow('model.outputs.scores cannot be replaced');
    expect(() => ((model.state as Record<string, unknown>).m_w = new Float32Array(12))).toThrow('model.state.m_w cannot be replaced');
    expect(() => ((model.params as Record<string, unknown>).extra = new Float32Array(1))).toThrow(TypeError);
    expect(model.params.w).toBe(w);
    expect(Object.keys(model.params)).toEqual(['w', 'b']);
    model.params.w.set(new Float32Array(12).fill(0.5));
    const feeds = { x: [1, 2, 3, 4, 5, 6], labels: [0, 1] };
    expect(model.forward(feeds)).toBeCloseTo(Math.log(4), 5); // equal scores for every class
  });

  it('createModel refuses an option it does not know, as compile() does', async () => {
    const { g, loss } = classifier('created');
    const mod = await loadModule<{ createModel(o: object): Model }>(emit(g, { loss, dims: { N: 2 } }), 'created');
    expect(() => mod.createModel({ sead: 1 })).toThrow("createModel: unknown option 'sead' — did you mean 'seed'? (the options are 'seed', 'simd', 'threads')");
    expect(() => mod.createModel({ threds: 1 })).toThrow("createModel: unknown option 'threds' — did you mean 'threads'?");
    expect(mod.createModel({ seed: 1, simd: false, threads: 1 }).kernels).toBe('typescript');
  });
});
