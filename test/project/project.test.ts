// The whole project (src, test, generated, templates, examples, scripts, bench) type-checks under strict (`npm run typecheck`)
// and reads nothing from outside the repository.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { expect, it } from 'vitest';

it('npm run typecheck is clean', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const run = spawnSync(process.execPath, [tsc, '--noEmit', '-p', 'tsconfig.json'], { encoding: 'utf8' });
  expect(run.stdout + run.stderr).toBe('');
  expect(run.status).toBe(0);
});

it('nothing in the repository reads a file outside it (a clone has no ../shared beside it)', () => {
  const root = process.cwd();
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' }).split('\n').filter((f) => /\.(ts|js|mjs|cjs|json|sh)$/.test(f) && existsSync(f));
  const outside: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const shared = ['..', 'shared', ''].join('/'); // spelt out, so that this file does not match itself
    if (text.includes(shared)) outside.push(`${file}: ${shared}`);
    // Paths resolved against the file itself: new URL('…', import.meta.url).
    for (const m of text.matchAll(/new URL\(\s*'(\.{1,2}\/[^']*)',\s*import\.meta\.url\s*\)/g)) {
      const target = resolve(dirname(resolve(root, file)), m[1]!);
      if (relative(root, target).startsWith('..')) outside.push(`${file}: ${m[1]}`);
    }
  }
  expect(outside).toEqual([]);
});
