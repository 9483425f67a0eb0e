// `npm run demo` serves this page on 127.0.0.1; `npm run demo -- build` writes it to examples/demo/dist as static
// files. The flatgrad plugin turns spiral.model.ts into its generated module at build time. (In this repository
// `flatgrad` is its own source, by tsconfig.json's paths: hence `tsconfigPaths`; an app of your own has no need of it.)
import flatgrad from 'flatgrad/vite';

export default {
  root: import.meta.dirname,
  base: './',
  plugins: [flatgrad()],
  resolve: { tsconfigPaths: true },
  server: { host: '127.0.0.1', port: 5173 },
  preview: { host: '127.0.0.1', port: 4173 },
  build: { outDir: 'dist', emptyOutDir: true },
};
