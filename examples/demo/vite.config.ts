// `npm run demo` serves this page on 127.0.0.1; `npm run demo -- build` writes it to examples/demo/dist as static
// files. The flatgrad plugin turns spiral.model.ts into its generated module at build time (in an app of your own:
// `import flatgrad from 'flatgrad/vite'`).
import flatgrad from '../../src/build/vite.ts';

export default {
  root: import.meta.dirname,
  base: './',
  plugins: [flatgrad()],
  server: { host: '127.0.0.1', port: 5173 },
  preview: { host: '127.0.0.1', port: 4173 },
  build: { outDir: 'dist', emptyOutDir: true },
};
