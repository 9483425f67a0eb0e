import { mkdirSync, writeFileSync } from 'node:fs';
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
    throw new FlatgradError(`cannot load model file '${path}': ${(e as Error).message}`);
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
