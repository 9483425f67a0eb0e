import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FlatgradError } from '../graph/errors.ts';
import { Graph } from '../graph/graph.ts';
import { emit, type CompileOptions } from '../runtime/compile.ts';

/** What a model file exports by default: its graph and the compile options (dims may be overridden). */
export interface ModelFile extends CompileOptions {
  readonly graph: Graph;
}

export async function loadModelFile(path: string): Promise<ModelFile> {
  const url = pathToFileURL(isAbsolute(path) ? path : resolve(path)).href;
  let mod: { default?: unknown };
  try {
    mod = (await import(url)) as { default?: unknown };
  } catch (e) {
    if (e instanceof FlatgradError) throw e;
    const message = (e as Error).message;
    // Node loads a .ts file outside an ES-module package as CommonJS, which cannot import flatgrad's ES modules.
    const hint = /require\(\) ES Module|ERR_REQUIRE_ESM|Cannot use import statement outside a module/.test(message)
      ? ' (the file is loaded as CommonJS: name it .mts, or put it in a package whose package.json says "type": "module")'
      : '';
    throw new FlatgradError(`cannot load model file '${path}': ${message.split('\n')[0]}${hint}`);
  }
  const spec = mod.default as Partial<ModelFile> | undefined;
  if (!spec || !(spec.graph instanceof Graph)) {
    throw new FlatgradError(`model file '${path}' must export default { graph, loss, ... } (its graph and compile options)`);
  }
  return spec as ModelFile;
}

/** The file a model's module is written to: <graph name>.ts, or <graph name>.webgpu.ts for WebGPU. */
export function moduleFile(graph: Graph, outDir: string, options: Partial<CompileOptions>): string {
  return join(outDir, `${graph.name}${options.target === 'webgpu' ? '.webgpu' : ''}.ts`);
}

/** Emit a model file's module into outDir (see moduleFile); returns the written path. */
export async function writeModelModule(path: string, outDir: string, overrides: Partial<CompileOptions> = {}): Promise<string> {
  const { graph, ...options } = await loadModelFile(path);
  const source = emit(graph, { ...options, ...overrides, dims: { ...options.dims, ...overrides.dims } });
  mkdirSync(outDir, { recursive: true });
  const file = moduleFile(graph, outDir, { ...options, ...overrides });
  writeFileSync(file, source);
  return relative(process.cwd(), file);
}

/** A feeds file: a JSON object of numbers and (nested) arrays of numbers, by input or param name. */
export function readFeedsFile(path: string): Record<string, number | number[]> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new FlatgradError(`cannot read the feeds file '${path}': ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new FlatgradError(`the feeds file '${path}' is not JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FlatgradError(`the feeds file '${path}' must hold a JSON object, { "x": [ … ], … }`);
  const feeds: Record<string, number | number[]> = {};
  for (const [name, v] of Object.entries(value)) {
    const flat = typeof v === 'number' ? v : Array.isArray(v) ? (v as unknown[]).flat(Infinity) : undefined;
    const bad = flat === undefined ? v : typeof flat === 'number' ? undefined : flat.find((x) => typeof x !== 'number');
    if (flat === undefined || bad !== undefined) throw new FlatgradError(`the feeds file '${path}': '${name}' must be a number or an array of numbers, got ${JSON.stringify(bad ?? v)}`);
    feeds[name] = flat as number | number[];
  }
  return feeds;
}
