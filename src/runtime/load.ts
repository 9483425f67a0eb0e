import { transform } from 'esbuild';

/**
 * Load a generated TypeScript module in-process: esbuild strips the types (as CommonJS), and the code runs as a
 * function — faster than importing a data: URL of it (3 s less for a 16 MB module), and every stack frame in it
 * is named `flatgrad:<name>.js` (its `//# sourceURL`), not a data: URL holding the whole module.
 */
export async function loadModule<T>(source: string, name = 'model'): Promise<T> {
  const { code } = await transform(source, { loader: 'ts', format: 'cjs', target: 'es2022' });
  const module = { exports: {} as T };
  const sourceURL = `flatgrad:${name.replace(/[^\w-]/g, '_')}.js`;

  new Function('module', 'exports', `'use strict';\n${code}\n//# sourceURL=${sourceURL}`)(module, module.exports);
  return module.exports;
}
