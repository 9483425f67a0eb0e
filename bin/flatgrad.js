#!/usr/bin/env node
// In a checkout of flatgrad (src/ beside bin/), tsx runs the CLI from its TypeScript source, no build needed;
// the installed package runs its build (dist/), with plain Node.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('../dist/src/cli/main.js');
}
