import { defineConfig } from 'vitest/config';

export default defineConfig({
  // `flatgrad` and its subpaths are this repository's source (tsconfig.json's paths), as tsx and tsc resolve them.
  resolve: { tsconfigPaths: true },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    // Both cores of the 2-core machine (vitest's default leaves one idle): test files run in two processes at once.
    maxWorkers: 2,
    // .ci/run reads the JSON report for its one-line summary.
    reporters: ['default', ['json', { outputFile: '.vitest-report.json' }]],
  },
});
