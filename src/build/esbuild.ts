// flatgrad/esbuild: the esbuild plugin that does what flatgrad/vite does — a model file (*.model.ts) imported by
// the app is bundled as its generated module, with the plugin's compile options.
//
//   import { build } from 'esbuild';
//   import flatgrad from 'flatgrad/esbuild';
//   await build({ entryPoints: ['app.ts'], bundle: true, plugins: [flatgrad({ dims: { N: 300 } })] });
import { checkPluginOptions, generatedModule, modelImport, type FlatgradPluginOptions } from './model-import.ts';

export type { FlatgradPluginOptions } from './model-import.ts';

type Loaded = { contents: string; loader: 'js'; watchFiles: string[] } | undefined;

/** The subset of esbuild's Plugin this plugin is. */
export interface FlatgradEsbuildPlugin {
  readonly name: string;
  setup(build: { onLoad(options: { filter: RegExp }, load: (args: { path: string; suffix?: string }) => Promise<Loaded>): void }): void;
}

export default function flatgrad(options: FlatgradPluginOptions = {}): FlatgradEsbuildPlugin {
  checkPluginOptions(options);
  return {
    name: 'flatgrad',
    setup(build) {
      // esbuild keeps an import's query apart, in `suffix`: every file may be a `?flatgrad` import.
      build.onLoad({ filter: /./ }, async ({ path, suffix = '' }) => {
        const model = modelImport(path + suffix, options.include);
        return model && { contents: await generatedModule(model.file, options, model), loader: 'js', watchFiles: [model.file] };
      });
    },
  };
}
