import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    // .ci/run reads the JSON report for its one-line summary.
    reporters: ['default', ['json', { outputFile: '.vitest-report.json' }]],
  },
});
