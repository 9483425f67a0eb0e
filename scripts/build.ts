// `npm run build`: dist/ from src/ — ESM JavaScript, .d.ts declarations and source maps — for the npm package
// (package.json's exports and bin point there; `npm pack` and `npm ci` run it through prepare). The source maps carry
// the TypeScript they map to, which the package does not ship.
// tsc writes it (tsconfig.build.json rewrites the JavaScript's `./graph.ts` imports to `./graph.js`); declarations
// keep the `.ts`, which a project that checks its libraries (skipLibCheck: false) refuses, so they are rewritten here.
import { execFileSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
// Hand-written declarations (the types of `?flatgrad` imports, flatgrad/client) are not tsc's output: copied.
copyFileSync(join(root, 'src/build/client.d.ts'), join(dist, 'src/build/client.d.ts'));

let files = 0;
for (const entry of readdirSync(dist, { recursive: true, encoding: 'utf8' })) {
  if (!entry.endsWith('.d.ts')) continue;
  const path = join(dist, entry);
  const text = readFileSync(path, 'utf8');
  const fixed = text.replace(/((?:from|import)\s*\(?\s*)(['"])(\.\.?\/[^'"]+)\.ts\2/g, '$1$2$3.js$2');
  if (fixed !== text) writeFileSync(path, fixed);
  files++;
}
console.log(`built dist/: ${files} declaration files`);
