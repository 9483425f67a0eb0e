import { configDefaults, defineConfig } from 'vitest/config';

// test/memory.test.ts counts the heap a step leaves; it runs after every other file, alone. Beside another test
// file the two cores are oversubscribed and its threaded model's steps left a heap number each (160 KB over 10^4
// steps: the calling thread waiting for a late worker; reproduced with two CPU hogs beside it, never alone).
const ALONE = ['test/memory.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    // Both cores of the 2-core machine (vitest's default leaves one idle): test files run in two processes at once.
    maxWorkers: 2,
    // .ci/run reads the JSON report for its one-line summary.
    reporters: ['default', ['json', { outputFile: '.vitest-report.json' }]],
    projects: [
      { extends: true, test: { name: 'main', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...ALONE], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'alone', include: ALONE, sequence: { groupOrder: 1 } } },
    ],
  },
});
