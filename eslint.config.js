// `npm run lint`: typescript-eslint's recommended rules, no import cycles, the pipeline's layering, and the
// project's formatting (@stylistic, which formats as the code is already written, rather than prettier's
// reflow of every long line).
import stylistic from '@stylistic/eslint-plugin';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/**
 * What a stage may not import. src/errors (FlatgradError, the user's site, name and option checks) is a leaf any
 * stage may import. The front end is one layer, shape → graph ⇄ ops: graph.ts reads the op registry through
 * src/ops/index.ts, which fills it, and the ops build graph nodes; the ops say what they compute in the kernel IR,
 * which reads graph nodes' types and shapes. Then autodiff → passes → optim → lower → codegen → runtime. A file's last
 * matching entry is the one that holds, so shape's and graph's repeat the front end's list.
 */
const codegen = ['runtime', 'learn', 'cli'];
/** Inside codegen, kernel renderers and hosts (docs/architecture.md): a host imports renderers, never the reverse. */
const renderers = ['typescript', 'wasm', 'wgsl'];
const hosts = ['host', 'cpu', 'webgpu'];
const layers = {
  'src/errors/**': ['shape', 'graph', 'ops', 'ir', 'autodiff', 'passes', 'lower', 'optim', 'codegen', 'runtime', 'interpret', 'learn', 'cli', 'build'],
  'src/ir/**': ['ops', 'autodiff', 'passes', 'lower', 'optim', 'codegen', 'runtime', 'interpret', 'learn', 'cli'],
  'src/{shape,graph,ops}/**': ['autodiff', 'passes', 'lower', 'optim', 'codegen', 'runtime', 'interpret', 'learn', 'cli'],
  'src/shape/**': ['graph', 'ops', 'ir', 'autodiff', 'passes', 'lower', 'optim', 'codegen', 'runtime', 'interpret', 'learn', 'cli'],
  'src/graph/**': ['ir', 'autodiff', 'passes', 'lower', 'optim', 'codegen', 'runtime', 'interpret', 'learn', 'cli'],
  'src/passes/**': ['lower', 'optim', 'codegen', 'runtime', 'learn', 'cli'],
  'src/lower/**': ['codegen', 'runtime', 'learn', 'cli'],
  'src/optim/**': ['codegen', 'runtime', 'learn', 'cli'],
  'src/codegen/**': codegen,
  // The shared layer (the code builder, naming) and the host ⇄ backend seam import no renderer or host.
  'src/codegen/*.ts': [...codegen, ...renderers, ...hosts],
  // A kernel renderer imports the IR and the shared layer: no host, no other renderer (a Wasm kernel's TypeScript
  // fallback is the host's choice), and no file system (PURE below).
  ...Object.fromEntries(renderers.map((r) => [`src/codegen/${r}/**`, [...codegen, ...hosts, ...renderers.filter((o) => o !== r)]])),
  // What both hosts share renders nothing itself: the CPU host's TypeScript expressions are cpu/module.ts's.
  'src/codegen/host/**': [...codegen, 'cpu', 'webgpu', ...renderers],
  'src/codegen/cpu/**': [...codegen, 'webgpu', 'wgsl'],
  'src/codegen/webgpu/**': [...codegen, 'cpu', 'wasm'],
};
/** Where Node's modules may not be imported: a kernel renderer, and the shared layer it imports, are pure functions of the IR. */
const PURE = ['src/codegen/*.ts', ...renderers.map((r) => `src/codegen/${r}/**`)];

export default tseslint.config(
  { ignores: ['node_modules/**', 'generated/**', '.scratch/**', '.gpu/**', 'dist/**', 'examples/demo/dist/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX, '@stylistic': stylistic },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      // tsconfig.json's paths: `flatgrad` in the examples is this repository's src/, as tsx and tsc resolve it.
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js'], tsconfig: { configFile: new URL('tsconfig.json', import.meta.url).pathname } })],
    },
    rules: {
      'import-x/no-cycle': 'error',
      '@typescript-eslint/no-non-null-assertion': 'off',
      // `seen.get(k)?.push(v) ?? seen.set(k, [v])` and `c ? f() : g()` as statements are the house style
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@stylistic/indent': ['error', 2, { SwitchCase: 1, flatTernaryExpressions: true, ignoredNodes: ['TemplateLiteral *'] }],
      '@stylistic/quotes': ['error', 'single', { avoidEscape: true }],
      '@stylistic/semi': ['error', 'always'],
      '@stylistic/comma-dangle': ['error', 'always-multiline'],
      '@stylistic/comma-spacing': 'error',
      '@stylistic/arrow-parens': ['error', 'always'],
      '@stylistic/keyword-spacing': 'error',
      '@stylistic/space-infix-ops': 'error',
      '@stylistic/space-before-blocks': 'error',
      '@stylistic/brace-style': ['error', '1tbs', { allowSingleLine: true }],
      '@stylistic/eol-last': 'error',
      '@stylistic/no-trailing-spaces': 'error',
      '@stylistic/no-multiple-empty-lines': ['error', { max: 1, maxBOF: 0, maxEOF: 0 }],
      '@stylistic/max-len': ['error', { code: 200 }],
    },
  },
  // The prelude is emitted verbatim into every generated module: a wrapped line there changes generated/, so its
  // lines are wrapped when a change regenerates it on purpose, not under this rule.
  { files: ['templates/prelude/**'], rules: { '@stylistic/max-len': 'off' } },
  // Each file gets the rule of the last entry it matches (ESLint does not merge one rule's options), so every entry
  // lists all that its files may not import.
  ...Object.entries(layers).map(([files, forbidden]) => ({
    files: [files],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: forbidden.map((stage) => `**/${stage}/**`), message: 'a stage imports only from the stages before it (eslint.config.js, layers)' },
          ...(PURE.includes(files) ? [{ group: ['node:*', 'fs', 'path', 'url'], message: 'a kernel renderer is pure: no file system or other host API (eslint.config.js, PURE)' }] : []),
        ],
      }],
    },
  })),
);
