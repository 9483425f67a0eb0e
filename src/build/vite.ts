// flatgrad/vite: a Vite plugin that turns model files into their generated modules at build time, so the app's
// bundle holds the flat generated code and none of the compiler.
//
//   // vite.config.ts
//   import flatgrad from 'flatgrad/vite';
//   export default { plugins: [flatgrad({ dims: { N: 300 } })] };
//
//   // app.ts: a model file (spiral.model.ts exports { graph, loss, dims }) becomes its module
//   import { createModel } from './spiral.model.ts?flatgrad';
//   import { createModel as small } from './spiral.model.ts?H=10&flatgrad'; // another variant, dims from the query
//   import code from './spiral.model.ts?H=10&flatgrad-source';               // its TypeScript, as text
// (TypeScript: `/// <reference types="flatgrad/client" />` types these imports.)
import { checkPluginOptions, generatedModule, modelImport, type FlatgradPluginOptions } from './model-import.ts';

export type { FlatgradPluginOptions } from './model-import.ts';

/** The subset of Vite's Plugin this plugin is (no import of vite: it is the app's). */
export interface FlatgradVitePlugin {
  readonly name: string;
  readonly enforce: 'pre';
  load(this: { addWatchFile(file: string): void }, id: string): Promise<{ code: string; map: null } | null>;
}

export default function flatgrad(options: FlatgradPluginOptions = {}): FlatgradVitePlugin {
  checkPluginOptions(options);
  return {
    name: 'flatgrad',
    enforce: 'pre',
    async load(id) {
      const model = modelImport(id, options.include);
      if (!model) return null;
      this.addWatchFile(model.file);
      return { code: await generatedModule(model.file, options, model), map: null };
    },
  };
}
