// The npm package as a user gets it: `npm run build`, `npm pack`, then the tarball installed into an empty
// `"type": "module"` project with no network (npm ci --offline, from a lockfile made of this repo's, so every tarball
// comes from npm's cache), and used there the three ways a JavaScript developer would: a training script run by
// plain `node`, the CLI (`npx flatgrad compile` of a TypeScript model file, and `--js`), and TypeScript type-checked
// by `tsc --init`'s config — the generated module under tsc's strictest options too. The runtime entry
// (flatgrad/runtime) bundles for the browser.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRICTEST } from '../support/helpers.ts';

const root = new URL('../..', import.meta.url).pathname;
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const dir = mkdtempSync(join(tmpdir(), 'flatgrad-package-'));
const app = join(dir, 'app');
const run = (cmd: string, args: readonly string[], cwd = app) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });

/** The app's lockfile: flatgrad from the tarball, its dependencies as this repo's lockfile resolves them. */
function lockfile(tarball: string): object {
  const repo = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dependencies?: object; optionalDependencies?: object }> };
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string>; bin: object; license: string };
  const integrity = `sha512-${createHash('sha512').update(readFileSync(join(dir, tarball))).digest('base64')}`;
  const packages: Record<string, object> = {
    '': { name: 'app', dependencies: { flatgrad: `file:../${tarball}` } },
    'node_modules/flatgrad': { version: pkg.version, resolved: `file:../${tarball}`, integrity, dependencies: pkg.dependencies, bin: pkg.bin, license: pkg.license },
  };
  const todo = Object.keys(pkg.dependencies);
  for (let name = todo.pop(); name !== undefined; name = todo.pop()) {
    const entry = repo.packages[`node_modules/${name}`];
    if (!entry) throw new Error(`${name} is not in package-lock.json`);
    if (packages[`node_modules/${name}`]) continue;
    packages[`node_modules/${name}`] = entry;
    todo.push(...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {}));
  }
  return { name: 'app', lockfileVersion: 3, requires: true, packages };
}

/** Whether dist/ was built after the last change to what it is built from (npm ci's prepare builds it). */
function built(): boolean {
  const stamp = join(root, 'dist/src/index.js');
  if (!existsSync(stamp)) return false;
  const newest = Math.max(
    ...['src', 'templates/prelude'].flatMap((d) => readdirSync(join(root, d), { recursive: true, encoding: 'utf8' }).map((f) => statSync(join(root, d, f)).mtimeMs)),
    statSync(join(root, 'package.json')).mtimeMs,
  );
  return statSync(stamp).mtimeMs > newest;
}

beforeAll(() => {
  if (!built()) run('npx', ['tsx', 'scripts/build.ts'], root);
  const tarball = run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir, '--silent'], root).trim().split('\n').pop()!;
  mkdirSync(join(app, 'models'), { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { flatgrad: `file:../${tarball}` } }));
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify(lockfile(tarball)));
  run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error']);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const trainScript = `import { compile, graph } from 'flatgrad';
import { loadCheckpoint, predict, saveCheckpoint } from 'flatgrad/runtime';
const g = graph('xor');
const x = g.input('x', ['N', 2]);
const labels = g.input('labels', ['N'], 'i32');
const w1 = g.param('w1', [2, 8], { init: 'he' });
const b1 = g.param('b1', [8], { init: 'zeros' });
const w2 = g.param('w2', [8, 2], { init: 'he' });
const scores = x.matmul(w1).add(b1).relu().matmul(w2).named('scores');
const loss = scores.softmaxCrossEntropy(labels);
const model = await compile(g, { loss, outputs: { scores }, dims: { N: 4 }, seed: 3, optimizer: { adam: {} } });
const feeds = { x: [0, 0, 0, 1, 1, 0, 1, 1], labels: [0, 1, 1, 0] };
const first = model.step(feeds, 0.05);
let last = first;
for (let t = 0; t < 300; t++) last = model.step(feeds, 0.05);
// A training checkpoint (Adam's moments too) into an inference model, then six rows through its batch of four.
const inference = await compile(g, { outputs: { scores }, dims: { N: 4 } });
loadCheckpoint(inference, saveCheckpoint(model).buffer, { paramsOnly: true });
const predicted = predict(inference, { x: [0, 0, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1] });
console.log(JSON.stringify({ first, last, predicted: Array.from(predicted) }));
`;

const modelFile = `import { graph } from 'flatgrad';
const g = graph('net');
const x = g.input('x', ['N', 3]);
const y = g.input('y', ['N', 1]);
const w = g.param('w', [3, 1], { init: 'zeros' });
const loss = x.matmul(w).sub(y).square().mean().named('loss');
export default { graph: g, loss, dims: { N: 2 } };
`;

describe('the npm package', () => {
  it('ships dist/, the prelude templates and the bin, and no tests, benchmarks or CI files', () => {
    const installed = join(app, 'node_modules/flatgrad');
    const top = readdirSync(installed).sort();
    expect(top).toEqual(['README.md', 'bin', 'dist', 'package.json', 'templates']);
    expect(readdirSync(join(installed, 'dist/src/runtime'))).toContain('index.d.ts');
    // declarations import .js, as a project checking its libraries needs
    expect(readFileSync(join(installed, 'dist/src/index.d.ts'), 'utf8')).toMatch(/from '\.\/graph\/graph\.js'/);
  });

  it('plain node runs a training script that imports flatgrad: it trains, loads its checkpoint into an inference model and predicts any number of rows', () => {
    writeFileSync(join(app, 'train.mjs'), trainScript);
    const out = JSON.parse(run('node', ['train.mjs'])) as { first: number; last: number; predicted: number[] };
    expect(out.last).toBeLessThan(out.first / 3);
    expect(out.predicted).toHaveLength(12); // 6 rows of 2 scores, through a batch of 4 (the last chunk padded)
    const classes = [0, 1, 2, 3, 4, 5].map((r) => (out.predicted[2 * r + 1]! > out.predicted[2 * r]! ? 1 : 0));
    expect(classes).toEqual([0, 1, 1, 0, 1, 0]);
  });

  it('npx flatgrad compiles a TypeScript model file with no TypeScript loader, and --js writes JavaScript that plain node runs', () => {
    writeFileSync(join(app, 'models/net.ts'), modelFile);
    expect(run('npx', ['flatgrad', 'compile', 'models/net.ts', '-o', 'gen'])).toContain('wrote gen/net.ts');
    expect(run('npx', ['flatgrad', 'compile', 'models/net.ts', '-o', 'gen', '--js'])).toContain('wrote gen/net.js');
    expect(readdirSync(join(app, 'models'))).toEqual(['net.ts']); // the bundled copy it imported is gone
    writeFileSync(join(app, 'use.mjs'), `import { createModel } from './gen/net.js';
const model = createModel();
const feeds = { x: [1, 2, 3, 0, 1, 0], y: [14, 2] };
const first = model.step(feeds, 0.02);
let last = first;
for (let t = 0; t < 200; t++) last = model.step(feeds, 0.02);
console.log(JSON.stringify({ first, last }));
`);
    const { first, last } = JSON.parse(run('node', ['use.mjs'])) as { first: number; last: number };
    expect(first).toBe(100); // w = 0: ((0 − 14)² + (0 − 2)²) / 2
    expect(last).toBeLessThan(1);
  });

  it("an example copied out of the repository (it imports 'flatgrad', as an app does) is a model file the installed CLI compiles", () => {
    writeFileSync(join(app, 'models/two_layer_net.ts'), readFileSync(join(root, 'examples/two_layer_net.ts'), 'utf8'));
    expect(run('npx', ['flatgrad', 'compile', 'models/two_layer_net.ts', '-o', 'gen'])).toContain('wrote gen/two_layer_net.ts');
    expect(readFileSync(join(app, 'gen/two_layer_net.ts'), 'utf8').split('\n')[1]).toBe('// graph: two_layer_net, declared in models/two_layer_net.ts');
    rmSync(join(app, 'models/two_layer_net.ts'));
  });

  it("TypeScript type-checks an app under tsc --init's config, and the generated module under the strictest options", () => {
    run('node', [tsc, '--init']);
    const typedScript = trainScript.replace("import { compile, graph } from 'flatgrad';", "import { compile, graph, type Model } from 'flatgrad';");
    writeFileSync(join(app, 'train.ts'), `${typedScript}const typed: Model = model;\nconsole.log(typed.kernels);\n`);
    writeFileSync(join(app, 'wrong.ts'), "import { graph } from 'flatgrad';\nexport const n: string = graph('g').params().length;\n");
    const errors = (() => {
      try {
        return run('node', [tsc, '--noEmit', '-p', '.']);
      } catch (e) {
        return String((e as { stdout: string }).stdout);
      }
    })();
    // the one error is the deliberate one: flatgrad's types are there, and nothing else fails
    expect(errors.trim().split('\n')).toEqual([expect.stringMatching(/^wrong\.ts\(2,14\): error TS2322: Type 'number' is not assignable to type 'string'\./)]);
    rmSync(join(app, 'wrong.ts'));
    const strictest = { ...STRICTEST, moduleDetection: 'force', module: 'nodenext', target: 'esnext', noEmit: true, skipLibCheck: false, types: [] };
    writeFileSync(join(app, 'tsconfig.strictest.json'), JSON.stringify({ compilerOptions: strictest, files: ['gen/net.ts'] }));
    expect(run('node', [tsc, '-p', 'tsconfig.strictest.json'])).toBe('');
  });

  it('flatgrad/runtime bundles for the browser: no Node built-in', async () => {
    const result = await build({ stdin: { contents: "export * from 'flatgrad/runtime';", resolveDir: app }, bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' });
    const code = result.outputFiles[0]!.text;
    expect(code).toContain('function predict(');
    expect(code).not.toMatch(/node:|require\(/);
  });
});
