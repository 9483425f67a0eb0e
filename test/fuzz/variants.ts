// The compile configurations every fuzz case must agree across, and the check itself.
// Adding a configuration is one line in `variants`: each is compared with the reference interpreter
// and with every other variant. Then f32 with the Wasm kernels is compared with f32 TypeScript loops.
import fc from 'fast-check';
import { compile, grad, interpret, type CompileOptions, type Model } from '../../src/index.ts';
import { buildCase, largeRecipeArb, recipeArb, type Case } from './graphs.ts';

export const variants: { name: string; options: Partial<CompileOptions> }[] = [
  { name: 'f64', options: { dtype: 'f64' } },
  { name: 'f64 checked', options: { dtype: 'f64', checkFinite: true } }, // checkFinite must not change values
  { name: 'f64 readable', options: { dtype: 'f64', optimize: false } }, // no passes, fusion or memory plan
];

/**
 * Bugs the fuzzer found that are not fixed yet, each excluded as narrowly as it can be: on the variants it names
 * (default: all), a case it `applies` to is not compared, and a run that throws an `error` it matches counts as
 * that bug, not as a failure (the other variants are still compared). Remove the entry with the fix.
 */
export interface KnownBug {
  readonly bug: string;
  readonly variants?: readonly string[];
  applies?(c: Case): boolean;
  readonly error?: RegExp;
}

export const knownBugs: KnownBug[] = [];

/** How many variant runs each known bug excused, by its description. */
export const knownHits = new Map<string, number>();

/** The known bug a variant's failure on a case is, if any (counted in knownHits). */
function known(c: Case, variant: string, error?: unknown): KnownBug | undefined {
  const bug = knownBugs.find(
    (b) =>
      (!b.variants || b.variants.includes(variant)) &&
      (error === undefined ? b.error === undefined && b.applies?.(c) === true : b.error?.test(String(error)) === true && (b.applies?.(c) ?? true)),
  );
  if (bug) knownHits.set(bug.bug, (knownHits.get(bug.bug) ?? 0) + 1);
  return bug;
}

/** |got − expected| ≤ TOLERANCE · max(1, |expected|): relative for large values, absolute for small. */
export const TOLERANCE = 1e-9;

/** The values a case is judged on, by key: 'loss', 'outputs.o0', 'grads.p0'. */
export type Results = Map<string, ArrayLike<number>>;

export class Mismatch extends Error {
  override name = 'Mismatch';
}

/**
 * The first element where two results differ by more than tol, described; undefined when they agree. NaN equals NaN,
 * ±Infinity only itself, and (with `signedZeros`, for f64, where every form computes the same ops) +0 is not −0.
 * With `nonFiniteAlike`, any non-finite value matches any other: f32 Wasm (an op at a time, its own summation
 * order) and f32 TypeScript (fused in f64) round differently, and ∞ · (a rounding residual, or 0) is ∞ or NaN.
 */
export function difference(got: Results, expected: Results, tol = TOLERANCE, signedZeros = tol === TOLERANCE, nonFiniteAlike = false): string | undefined {
  for (const [key, e] of expected) {
    const g = got.get(key);
    if (!g) return `${key} is missing`;
    if (g.length !== e.length) return `${key} has ${g.length} values, expected ${e.length}`;
    for (let i = 0; i < e.length; i++) {
      const [a, b] = [g[i]!, e[i]!];
      if (nonFiniteAlike && !Number.isFinite(a) && !Number.isFinite(b)) continue;
      const zeros = signedZeros && a === 0 && b === 0 && !Object.is(a, b);
      if ((!(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b))) && !Object.is(a, b)) || zeros) {
        return `${key}[${i}] is ${Object.is(a, -0) ? '-0' : a}, expected ${Object.is(b, -0) ? '-0' : b} (difference ${Math.abs(a - b).toExponential(2)})`;
      }
    }
  }
  return undefined;
}

/**
 * The reference: the loss, outputs and gradients interpreted node by node in float64, and whether any value on the
 * way was NaN or ±Infinity (then checkFinite may stop, and step() must refuse if the loss or a gradient is).
 */
export function reference(c: Case): { expected: Results; nonFinite: boolean } {
  const grads = grad(c.loss, c.wrt);
  const outs = Object.entries(c.outputs);
  const values = interpret([c.loss, ...outs.map(([, t]) => t), ...grads], { dims: c.dims, feeds: c.feeds, params: c.params });
  const expected: Results = new Map();
  expected.set('loss', values.get(c.loss)!.data);
  for (const [k, t] of outs) expected.set(`outputs.${k}`, values.get(t)!.data);
  c.wrt.forEach((w, k) => expected.set(`grads.${w.name}`, values.get(grads[k]!)!.data));
  if (c.specials.length === 0) {
    for (const [key, v] of expected) {
      if (!Array.from(v).every(Number.isFinite)) throw new Mismatch(`fuzz generator: the reference ${key} is not finite (${Array.from(v)}): a domain guard is missing`);
    }
  }
  // (checkFinite also checks every param and feed, needed or not.)
  const leaves = [...Object.values(c.params), ...Object.values(c.feeds)].flatMap((v) => (typeof v === 'number' ? [v] : v));
  const nonFinite = [...values.values()].some((v) => !v.data.every(Number.isFinite)) || !leaves.every(Number.isFinite);
  return { expected, nonFinite };
}

/** Whether step() must refuse: the loss or a param's gradient is not finite (the default step guard). */
const stepRefuses = (c: Case, first: Results) =>
  !Number.isFinite(first.get('loss')![0]!) || c.graph.params().some((p) => !Array.from(first.get(`grads.${p.name}`) ?? []).every(Number.isFinite));

/**
 * Compile the case with one variant, run forward and backward twice (the second run must repeat the first exactly).
 * Undefined when it failed with a known bug.
 */
export async function run(c: Case, variant: { name: string; options: Partial<CompileOptions> }, nonFinite = false): Promise<Results | undefined> {
  const fail = (what: string) => new Mismatch(`variant '${variant.name}': ${what}`);
  // checkFinite stops at the first non-finite value: expected exactly when the reference met one.
  const stopped = (e: unknown) => variant.options.checkFinite === true && nonFinite && /non-finite value/.test(String(e));
  let model: Model;
  try {
    model = await compile(c.graph, { ...variant.options, loss: c.loss, wrt: c.wrt, outputs: c.outputs, dims: c.dims });
  } catch (e) {
    if (known(c, variant.name, e)) return undefined;
    throw fail(`compile threw ${String(e)}`);
  }
  for (const [name, init] of Object.entries(c.inits)) {
    const d = difference(new Map([[name, model.params[name]!]]), new Map([[name, init]]), 0);
    if (d) throw fail(`the model does not start from the init array: ${d}`);
  }
  for (const [name, values] of Object.entries(c.params)) model.params[name]!.set(values);
  const feeds = Object.fromEntries(model.inputs.map((i) => [i.name, c.feeds[i.name]!]));
  const once = () => {
    try {
      // Outputs are read after forward (what the README promises), gradients after backward.
      const results: Results = new Map([['loss', [model.forward(feeds)]]]);
      for (const k of Object.keys(c.outputs)) results.set(`outputs.${k}`, Array.from(model.outputs[k] ?? []));
      model.backward();
      for (const w of c.wrt) results.set(`grads.${w.name}`, Array.from(model.grads[w.name] ?? []));
      return results;
    } catch (e) {
      if (stopped(e) || known(c, variant.name, e)) return undefined;
      throw fail(`forward/backward threw ${String(e)}`);
    }
  };
  const first = once();
  if (!first) return undefined;
  const again = difference(once() ?? new Map(), first, 0);
  if (again) throw fail(`a second forward and backward differ from the first: ${again}`);
  // step(): forward, backward and p -= lr · grad_p on every param, from the values just checked — or, when the
  // loss or a gradient is not finite, a refusal that changes nothing.
  const lr = 0.5;
  let stepLoss: number;
  const before = Object.fromEntries(Object.keys(c.params).map((name) => [name, Array.from(model.params[name]!)]));
  try {
    stepLoss = model.step(feeds, lr);
  } catch (e) {
    if (known(c, variant.name, e)) return undefined;
    if (stepRefuses(c, first) && /^FlatgradError: step: /.test(String(e))) {
      const unchanged = difference(new Map(Object.keys(c.params).map((n) => [n, model.params[n]!])), new Map(Object.entries(before)), 0);
      if (unchanged) throw fail(`step refused, but changed a param: ${unchanged}`);
      return first;
    }
    throw fail(`step threw ${String(e)}`);
  }
  if (stepRefuses(c, first) && variant.options.checkFinite !== false) throw fail('step did not refuse a non-finite loss or gradient');
  const updated: Results = new Map([['loss', [stepLoss]]]);
  const expected: Results = new Map([['loss', first.get('loss')!]]);
  for (const [name, values] of Object.entries(c.params)) {
    const grads = first.get(`grads.${name}`) ?? model.grads[name];
    updated.set(`params.${name}`, Array.from(model.params[name]!));
    expected.set(`params.${name}`, values.map((v, i) => v - lr * (grads?.[i] ?? NaN)));
  }
  const stepped = difference(updated, expected, 0);
  if (stepped) {
    const e = fail(`step(feeds, ${lr}) is not forward, backward and the SGD update: ${stepped}`);
    if (!known(c, variant.name, e)) throw e;
  }
  return first;
}

/** Every variant against the reference, and every pair of variants against each other. Throws a Mismatch. */
export async function checkCase(c: Case, list = variants): Promise<void> {
  const { expected, nonFinite } = reference(c);
  const compared: typeof list = [];
  const got: Results[] = [];
  for (const v of list) {
    if (known(c, v.name)) continue;
    const r = await run(c, v, nonFinite);
    if (!r) continue;
    const d = difference(r, expected);
    if (d) throw new Mismatch(`variant '${v.name}' differs from the reference interpreter: ${d}`);
    compared.push(v);
    got.push(r);
  }
  for (let i = 0; i < compared.length; i++) {
    for (let j = i + 1; j < compared.length; j++) {
      const d = difference(got[j]!, got[i]!);
      if (d) throw new Mismatch(`variants '${compared[j]!.name}' and '${compared[i]!.name}' differ: ${d}`);
    }
  }
  await checkF32(c);
}

/**
 * f32: the generated Wasm SIMD kernels against the TypeScript loops (f32 rounds per op in Wasm, so 1e-3). Half the
 * cases (by their seed) keep subnormals, half flush them to ±0 (the default): each pair compared is compiled alike,
 * since a flushed subnormal is not within any tolerance of what it becomes later (log(1e-40) is −92, log(0) −∞).
 */
export async function checkF32(c: Case): Promise<void> {
  const subnormals = c.recipe.seed % 2 === 0 ? 'flush' : 'keep';
  const f32 = { dtype: 'f32', subnormals } as const;
  const [simd, loops] = [await forwardBackward(c, f32), await forwardBackward(c, { ...f32, wasm: false })];
  if ((simd === undefined) !== (loops === undefined)) {
    throw new Mismatch(`f32 (subnormals: '${subnormals}') with Wasm ${simd ? 'runs' : 'throws'} where the TypeScript loops ${loops ? 'run' : 'throw'}`);
  }
  const d = simd && loops && difference(simd, loops, F32_TOLERANCE, false, c.specials.length > 0);
  if (d) throw new Mismatch(`f32 (subnormals: '${subnormals}') with Wasm kernels differs from f32 TypeScript loops: ${d}`);
  // Two threads compute what one does, bit for bit (NaN alike): with wasm: 'all', every matmul and one-axis loop that
  // makes two shares is split, however small.
  const [one, threaded] = [await forwardBackward(c, { ...f32, wasm: 'all', threads: 1 }), await forwardBackward(c, { ...f32, wasm: 'all', threads: 2 })];
  if ((one === undefined) !== (threaded === undefined)) throw new Mismatch(`f32 on 2 threads ${threaded ? 'runs' : 'throws'} where on 1 it ${one ? 'runs' : 'throws'}`);
  for (const [key, values] of one ?? []) {
    const other = threaded!.get(key)!;
    const at = Array.from(values).findIndex((v, i) => !Object.is(v, other[i]));
    if (at >= 0 || other.length !== values.length) throw new Mismatch(`${key} on 2 threads differs from 1 thread at [${at}]: ${other[at]} vs ${values[at]}`);
  }
}

export const F32_TOLERANCE = 1e-3;

/** Loss, outputs and grads after one forward and backward, or undefined when compiling or running throws. */
async function forwardBackward(c: Case, options: Partial<CompileOptions>, errors?: unknown[]): Promise<Results | undefined> {
  try {
    const model = await compile(c.graph, { ...options, loss: c.loss, wrt: c.wrt, outputs: c.outputs, dims: c.dims });
    for (const [name, values] of Object.entries(c.params)) model.params[name]!.set(values);
    const feeds = Object.fromEntries(model.inputs.map((i) => [i.name, c.feeds[i.name]!]));
    const results: Results = new Map([['loss', [model.forward(feeds)]]]);
    for (const k of Object.keys(c.outputs)) results.set(`outputs.${k}`, Array.from(model.outputs[k] ?? []));
    model.backward();
    for (const w of c.wrt) results.set(`grads.${w.name}`, Array.from(model.grads[w.name] ?? []));
    model.dispose();
    return results;
  } catch (e) {
    errors?.push(e);
    return undefined;
  }
}

/**
 * The fuzz property: a random recipe builds a case, which every variant must compile to the reference's values.
 * Cases within 1e-6 of a kink (a tie a rounding could flip) are skipped. `seen` hears every case built.
 */
export function property(seen?: (c: Case, skipped: boolean) => void, recipes = recipeArb, check = checkCase) {
  return fc.asyncProperty(recipes, async (recipe) => {
    const c = buildCase(recipe);
    seen?.(c, c.fragile !== null);
    fc.pre(c.fragile === null);
    await check(c);
  });
}

/** Large graphs (see largeRecipeArb): f32 with the Wasm kernels against the TypeScript loops only. */
export function largeProperty(seen?: (c: Case, skipped: boolean) => void) {
  return property(seen, largeRecipeArb, checkF32);
}

/**
 * WebGPU against the f32 TypeScript loops, after one forward and backward: the same tolerance as the Wasm kernels
 * (f32 rounds per op on the GPU too, and sums in its own order), non-finite values alike where specials are fed.
 * Returns false for a case WebGPU cannot take as it is: a param that is not finite in f32 (write() refuses it), or one a
 * known bug for the variant 'webgpu' applies to, or whose f32 TypeScript loops throw with a known bug.
 */
export async function checkWebGpu(original: Case, device: GPUDevice): Promise<boolean> {
  if (!Object.values(original.params).every((v) => v.every((x) => Number.isFinite(Math.fround(x))))) return false;
  if (known(original, 'webgpu')) return false;
  // Both read the values as f32 (a TypeScript module of scalars would compute on the f64 feeds themselves).
  const f32 = (v: number[] | number) => (typeof v === 'number' ? Math.fround(v) : v.map(Math.fround));
  const c: Case = {
    ...original,
    feeds: Object.fromEntries(Object.entries(original.feeds).map(([k, v]) => [k, f32(v)])),
    params: Object.fromEntries(Object.entries(original.params).map(([k, v]) => [k, v.map(Math.fround)])),
  };
  const thrown: unknown[] = [];
  const loops = await forwardBackward(c, { dtype: 'f32', wasm: false }, thrown);
  // the loops hit a known bug: nothing to compare WebGPU with
  if (!loops && thrown.length && known(c, 'webgpu', thrown[0])) return false;
  let gpu: Results | undefined;
  let error: unknown;
  const model = await compile(c.graph, { target: 'webgpu', device, loss: c.loss, wrt: c.wrt, outputs: c.outputs, dims: c.dims });
  try {
    for (const [name, values] of Object.entries(c.params)) model.write(name, values);
    model.forward(Object.fromEntries(model.inputs.map((i) => [i.name, c.feeds[i.name]!])));
    gpu = new Map([['loss', [await model.loss()]]]);
    for (const k of Object.keys(c.outputs)) gpu.set(`outputs.${k}`, Array.from(await model.read(k, 'outputs')));
    model.backward();
    for (const w of c.wrt) gpu.set(`grads.${w.name}`, Array.from(await model.read(w.name, 'grads')));
  } catch (e) {
    error = e;
  } finally {
    model.dispose();
  }
  if ((gpu === undefined) !== (loops === undefined)) throw new Mismatch(`WebGPU ${gpu ? 'runs' : `throws ${String(error)}`} where the f32 TypeScript loops ${loops ? 'run' : 'throw'}`);
  // WGSL does not promise IEEE special values (a shader compiler may fold 0 · x to 0, x − x to 0): with a NaN or
  // ±Infinity fed, only what the loops compute finite is compared. The step guard decides on the bits, so it holds.
  const specialsFed = [...Object.values(c.feeds), ...Object.values(c.params)].some((v) => !(typeof v === 'number' ? [v] : v).every(Number.isFinite));
  const expected = loops && specialsFed ? new Map([...loops].map(([k, v]) => [k, Array.from(v, (e, i) => (Number.isFinite(e) ? e : gpu?.get(k)?.[i] ?? e))])) : loops;
  const d = gpu && expected && difference(gpu, expected, F32_TOLERANCE, false, c.specials.length > 0);
  if (d) throw new Mismatch(`WebGPU differs from f32 TypeScript loops: ${d}`);
  return true;
}

/** The WebGPU property: random recipes, each case on `device` against the f32 TypeScript loops. */
export function webgpuProperty(device: GPUDevice, seen?: (c: Case, compared: boolean) => void) {
  return fc.asyncProperty(recipeArb, async (recipe) => {
    const c = buildCase(recipe);
    fc.pre(c.fragile === null);
    seen?.(c, await checkWebGpu(c, device));
  });
}
