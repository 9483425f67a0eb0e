// The examples are written as an app writes its files: they import `flatgrad` (and `flatgrad/runtime`), which in this
// repository is its own source (tsconfig.json's paths, for tsx, tsc, eslint and Vite). So an example copied out of
// the repository is a model file that loads there, and the CLI of a checkout loads a model file whose `flatgrad` is
// another copy (dist/, or none at all) with its own flatgrad: the model's graph must be the compiler's Graph.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin/flatgrad.js');
const examples = readdirSync(join(root, 'examples'), { recursive: true, encoding: 'utf8' }).filter((f) => /\.ts$/.test(f) && !f.includes('dist/'));

describe('the examples', () => {
  it.each(examples)('examples/%s imports flatgrad by its name, not by a path into the repository', (file) => {
    const imports = [...readFileSync(join(root, 'examples', file), 'utf8').matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]!);
    expect(imports.filter((i) => /(^|\/)(src|templates)\//.test(i))).toEqual([]);
  });

  it("the CLI loads an example from outside the repository's tree (tsx's paths do not apply there) with its own flatgrad", () => {
    const out = mkdtempSync(join(tmpdir(), 'flatgrad-examples-'));
    const run = spawnSync(process.execPath, [bin, 'compile', join(root, 'examples/two_layer_net.ts'), '-o', out], { cwd: out, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(readFileSync(join(out, 'two_layer_net.ts'), 'utf8').split('\n')[1]).toBe(`// graph: two_layer_net, declared in ${join(root, 'examples/two_layer_net.ts')}`);
  });

  it('an example copied into an ES-module folder where `flatgrad` resolves to nothing is a model file the CLI loads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flatgrad-examples-'));
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    copyFileSync(join(root, 'examples/lecture/sigmoid_neuron.ts'), join(dir, 'neuron.ts'));
    const run = spawnSync(process.execPath, [bin, 'compile', 'neuron.ts', '-o', 'gen'], { cwd: dir, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('wrote gen/sigmoid_neuron.ts');
    expect(readFileSync(join(dir, 'gen/sigmoid_neuron.ts'), 'utf8').split('\n')[1]).toBe('// graph: sigmoid_neuron, declared in neuron.ts');
    expect(readdirSync(dir).sort()).toEqual(['gen', 'neuron.ts', 'package.json']); // the bundled copy it imported is gone
  });
});
