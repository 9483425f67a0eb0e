import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, transform, type Plugin } from 'esbuild';
import { nearest_key } from '../../templates/prelude/check_options.ts';
import { checkOptions, FlatgradError } from '../errors/errors.ts';
import { Graph, Tensor } from '../graph/graph.ts';
import { firstUserFrame, shownPath, userSite } from '../errors/source.ts';
import { COMPILE_OPTIONS, emit, type CompileOptions } from '../runtime/compile.ts';

/** What a model file exports by default: its graph and the compile options (dims may be overridden). */
export interface ModelFile extends CompileOptions {
  readonly graph: Graph;
}

const loaded = new Set<string>();

/**
 * A model file's default export. Node runs a .js/.mjs model file as it is; a TypeScript one it cannot load (plain
 * Node, an installed flatgrad) is bundled by esbuild first, packages left to Node, beside the file so they resolve.
 */
export async function loadModelFile(path: string): Promise<ModelFile> {
  const file = isAbsolute(path) ? path : resolve(path);
  let mod: { default?: unknown };
  try {
    // Loaded again (a plugin in watch mode), the file's modification time goes in the URL: an edited file loads afresh.
    // (In whole microseconds: Vite reads a query ending `.9683` as the file's extension, and would not strip its types.)
    const url = `${pathToFileURL(file).href}${loaded.has(file) ? `?mtime=${Math.round(statSync(file).mtimeMs * 1000)}` : ''}`;
    loaded.add(file);
    mod = (await import(url).catch(async (e: NodeJS.ErrnoException) => {
      // Node without a TypeScript loader refuses a .ts file (Node 20), or takes only the TypeScript it can strip (22+).
      if (!/\.[cm]?ts$/.test(file) || !['ERR_UNKNOWN_FILE_EXTENSION', 'ERR_MODULE_NOT_FOUND', 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX'].includes(e.code ?? '')) throw e;
      return importBundled(file);
    })) as { default?: unknown };
    // Its `flatgrad` another copy than this compiler (a checkout's dist/, another install): bundled with this one.
    const graph = (mod.default as { graph?: unknown } | undefined)?.graph;
    if (graph !== undefined && !(graph instanceof Graph)) mod = (await importBundled(file)) as { default?: unknown };
  } catch (e) {
    if (e instanceof FlatgradError) throw e;
    const errors = (e as { errors?: { text: string; location?: { line: number; column: number } | null }[] }).errors;
    // An error the file's own code threw (a misspelt op: `x.sigmoidd is not a function`) is shown at its line.
    const thrownAt = !errors?.length && e instanceof Error && e.stack ? firstUserFrame(e.stack) : undefined;
    const message = errors?.length ? errors.map((x) => `${x.text}${x.location ? ` (line ${x.location.line}, column ${x.location.column + 1})` : ''}`).join('; ') : (e as Error).message;
    // Node loads a .ts file outside an ES-module package as CommonJS, which cannot import flatgrad's ES modules.
    const hint = /require\(\) ES Module|ERR_REQUIRE_ESM|Cannot use import statement outside a module/.test(message)
      ? ' (the file is loaded as CommonJS: name it .mts, or put it in a package whose package.json says "type": "module")'
      : '';
    throw new FlatgradError(`cannot load model file '${path}': ${message.split('\n')[0]}${hint}${methodHint(message)}`, thrownAt === '<unknown source>' ? undefined : thrownAt);
  }
  const spec = mod.default as Partial<ModelFile> | undefined;
  if (!spec || !(spec.graph instanceof Graph)) {
    throw new FlatgradError(`model file '${path}' must export default { graph, loss, ... } (its graph and compile options)`);
  }
  const known = ['graph', ...COMPILE_OPTIONS];
  checkOptions(spec, known, `model file '${path}'`, fileSite(file, Object.keys(spec).find((k) => !known.includes(k))));
  return spec as ModelFile;
}

/** `x.sigmoidd is not a function`: the tensor method meant, if one is near. */
function methodHint(message: string): string {
  const name = /\.(\w+) is not a function/.exec(message)?.[1];
  const methods = Object.getOwnPropertyNames(Tensor.prototype).filter((m) => m !== 'constructor');
  const near = name === undefined || methods.includes(name) ? undefined : nearest_key(name, methods);
  return near === undefined ? '' : ` — a tensor has no method '${name}'; did you mean '${near}'?`;
}

/**
 * Where in a model file its options are: the line of `key:`, else of `export default`, else the file. The options
 * are checked when the compiler runs, where no stack frame is the file's.
 */
function fileSite(file: string, key?: string): string {
  const text = readFileSync(file, 'utf8');
  const shown = shownPath(file);
  const find = (pattern: RegExp | undefined, from = 0) => {
    const at = pattern ? text.slice(from).search(pattern) : -1;
    return at < 0 ? undefined : at + from;
  };
  const exported = find(/export\s+default\b/);
  const keyed = key === undefined ? undefined : new RegExp(`(?<![\\w$])${key.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(?![\\w$])`);
  const at = find(keyed, exported ?? 0) ?? find(keyed) ?? exported;
  if (at !== undefined) {
    const lines = text.slice(0, at).split('\n');
    return `${shown}:${lines.length}:${lines.at(-1)!.length + 1}`;
  }
  return shown;
}

let bundles = 0;

/** This compiler's own entry for `flatgrad` ('') or `flatgrad/runtime`: its source in a checkout, else its build. */
const ownEntry = (sub: '' | 'runtime/') => new URL(`../${sub}index.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);

/** A bundled model file's `flatgrad` and `flatgrad/runtime` are this compiler's own entries, so its graph is a Graph here. */
const thisFlatgrad: Plugin = {
  name: 'this-flatgrad',
  setup: (b) => b.onResolve({ filter: /^flatgrad(\/runtime)?$/ }, ({ path }) => ({ path: ownEntry(path === 'flatgrad' ? '' : 'runtime/').href, external: true })),
};

async function importBundled(file: string): Promise<unknown> {
  // Beside the file, so its packages resolve from there; a name of its own for every load.
  const out = join(dirname(file), `.${basename(file)}.${process.pid}.${bundles++}.flatgrad.mjs`);
  // Errors then point into the model file, through the bundle's inline source map.
  process.setSourceMapsEnabled(true);
  try {
    await build({ entryPoints: [file], outfile: out, bundle: true, format: 'esm', platform: 'node', packages: 'external', logLevel: 'silent', sourcemap: 'inline', plugins: [thisFlatgrad] });
    return await import(pathToFileURL(out).href);
  } finally {
    rmSync(out, { force: true });
  }
}

/** The file a model's module is written to: <graph name>.ts (.js with `js`), or <graph name>.webgpu.ts for WebGPU. */
export function moduleFile(graph: Graph, outDir: string, options: Partial<CompileOptions>, js = false): string {
  return join(outDir, `${graph.name}${options.target === 'webgpu' ? '.webgpu' : ''}.${js ? 'js' : 'ts'}`);
}

/** A model file's generated module (TypeScript, or with `js` its JavaScript: the types stripped), and its graph. */
export async function modelModule(path: string, overrides: Partial<CompileOptions> = {}, js = false): Promise<{ graph: Graph; options: CompileOptions; code: string }> {
  const { graph, ...options } = await loadModelFile(path);
  const merged = { ...options, ...overrides, dims: { ...options.dims, ...overrides.dims } };
  const source = await atModelFile(path, () => emit(graph, merged));
  return { graph, options: merged, code: js ? await javascript(source) : source };
}

/** Runs the compiler on a model file's options: an error about them that no stack frame places is placed in the file. */
export async function atModelFile<T>(path: string, run: () => T | Promise<T>): Promise<T> {
  const caller = userSite();
  try {
    return await run();
  } catch (e) {
    const file = isAbsolute(path) ? path : resolve(path);
    // Only an error placed nowhere, or at the line that called with the file's options (which did not write them);
    // one without a site is about something else (a feeds file).
    if (!(e instanceof FlatgradError) || (e.site !== '<unknown source>' && e.site !== caller)) throw e;
    const key = /unknown option '([^']+)'|^compile: (?:dim '(\w+)'|(\w+) must be)/.exec(e.message)?.slice(1).find((k) => k !== undefined);
    throw new FlatgradError(e.message.slice(0, e.message.lastIndexOf('\n    at ')), fileSite(file, key));
  }
}

/**
 * Type-checks a model file and what it imports (not flatgrad or other packages) with the TypeScript compiler, under
 * the nearest tsconfig.json or else strict defaults; a clear error listing the problems. Loading a model file only
 * strips its types (esbuild, tsx, Node), so without this a type error compiles in silence.
 */
export async function checkTypes(path: string): Promise<void> {
  let ts: typeof import('typescript');
  try {
    ts = (await import('typescript')).default;
  } catch {
    throw new FlatgradError('--check-types needs the typescript package beside flatgrad: npm install --save-dev typescript');
  }
  const file = isAbsolute(path) ? path : resolve(path);
  const config = ts.findConfigFile(dirname(file), ts.sys.fileExists);
  const options = config
    ? ts.parseJsonConfigFileContent(ts.readConfigFile(config, ts.sys.readFile).config, ts.sys, dirname(config)).options
    // as esbuild bundles it: an ES module, whatever package.json says
    : { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, skipLibCheck: true };
  // `flatgrad` is this compiler, as when the file is loaded (thisFlatgrad)
  const paths = { flatgrad: [fileURLToPath(ownEntry(''))], 'flatgrad/runtime': [fileURLToPath(ownEntry('runtime/'))], ...options.paths };
  const program = ts.createProgram([file], { ...options, paths, allowImportingTsExtensions: true, noEmit: true });
  const own = fileURLToPath(new URL('../..', import.meta.url)).replaceAll('\\', '/');
  const theirs = (name: string) => resolve(name) === file || !(name.startsWith(own) || name.includes('/node_modules/'));
  const problems = ts.getPreEmitDiagnostics(program).filter((d) => !d.file || theirs(d.file.fileName));
  if (problems.length === 0) return;
  const host = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => '\n' };
  throw new FlatgradError(`model file '${path}' has ${problems.length} type error${problems.length === 1 ? '' : 's'} (--check-types):\n${ts.formatDiagnostics(problems, host).trimEnd()}`);
}

/** A generated module as JavaScript: esbuild strips the types (and the comments, so the header is put back). */
async function javascript(source: string): Promise<string> {
  const header = source.slice(0, source.search(/^(?!\/\/)/m));
  const { code } = await transform(source, { loader: 'ts', format: 'esm', target: 'es2022' });
  return `${header}// JavaScript: the TypeScript module with its types stripped (flatgrad compile --js).\n\n${code}`;
}

/** Emit a model file's module into outDir (see moduleFile); returns the written path. */
export async function writeModelModule(path: string, outDir: string, overrides: Partial<CompileOptions> = {}, js = false): Promise<string> {
  const { graph, options, code } = await modelModule(path, overrides, js);
  mkdirSync(outDir, { recursive: true });
  const file = moduleFile(graph, outDir, options, js);
  writeFileSync(file, code);
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
