// What the Vite and esbuild plugins share: which imports are model files, and the generated module each becomes.
import { checkOptions, FlatgradError, optionKeys } from '../errors/errors.ts';
import { userSite } from '../errors/source.ts';
import { modelModule } from '../cli/model-file.ts';
import type { CompileOptions } from '../runtime/compile.ts';

/** The plugins' options: compile options for every model file (over the file's own; an import's query wins over both). */
export interface FlatgradPluginOptions extends Omit<CompileOptions, 'loss' | 'outputs' | 'wrt' | 'device' | 'seed'> {
  /** Which files are model files, besides imports with `?flatgrad`. Default: names ending in .model.ts (or .mts, .js, .mjs). */
  readonly include?: RegExp;
}

const MODEL_FILE = /\.model\.(m?ts|m?js)$/;

const PLUGIN_OPTIONS = optionKeys<FlatgradPluginOptions>()('dims', 'dtype', 'checkFinite', 'optimize', 'wasm', 'threads', 'optimizer', 'target', 'subnormals', 'include');

/** The plugins' options, checked where the bundler's config makes the plugin: a misspelt one is an error there. */
export function checkPluginOptions(options: unknown): void {
  checkOptions(options, PLUGIN_OPTIONS, 'flatgrad plugin', userSite());
}

/**
 * The model file an import names, with the dims and dtype its query sets (`./net.model.ts?H=10&dtype=f64&flatgrad`),
 * and whether it asks for the module's TypeScript as text (`flatgrad-source`); undefined when it is not a model file.
 */
export function modelImport(id: string, include = MODEL_FILE): { file: string; overrides: Partial<CompileOptions>; source: boolean } | undefined {
  const at = id.indexOf('?');
  const file = at < 0 ? id : id.slice(0, at);
  const query = new URLSearchParams(at < 0 ? '' : id.slice(at + 1));
  const source = query.has('flatgrad-source');
  // A model file imported with another query (?raw, ?url) is the bundler's business.
  if (!query.has('flatgrad') && !source && (!include.test(file) || at >= 0)) return undefined;
  const dims: Record<string, number> = {};
  let dtype: 'f32' | 'f64' | undefined;
  for (const [key, value] of query) {
    if (key === 'flatgrad' || key === 'flatgrad-source' || key === 'import' || key === 'used') continue; // Vite adds import and used
    if (key === 'dtype') {
      if (value !== 'f32' && value !== 'f64') throw new FlatgradError(`${id}: dtype must be f32 or f64, got '${value}'`);
      dtype = value;
    } else if (/^[A-Za-z_]\w*$/.test(key) && /^[1-9]\d*$/.test(value)) dims[key] = Number(value);
    else throw new FlatgradError(`${id}: '${key}=${value}' is not a dim (NAME=a positive integer) or dtype=f32|f64`);
  }
  return { file, overrides: { dims, ...(dtype ? { dtype } : {}) }, source };
}

/**
 * The generated JavaScript module of a model file (the file's options, then the plugin's, then the import's query), or
 * with `source` a module whose default export is its TypeScript, for an app that shows the code it runs.
 */
export async function generatedModule(file: string, options: FlatgradPluginOptions, model: { overrides: Partial<CompileOptions>; source: boolean }): Promise<string> {
  const { include: _, ...compile } = options;
  const { code } = await modelModule(file, { ...compile, ...model.overrides, dims: { ...compile.dims, ...model.overrides.dims } }, !model.source);
  return model.source ? `export default ${JSON.stringify(code)};\n` : code;
}
