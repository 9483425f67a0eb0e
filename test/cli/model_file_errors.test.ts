// A model file given to the CLI or a plugin: its mistakes are reported at its own lines, as a script's are.
// Before, a misspelt op said `x.matmul(...).sigmoidd is not a function` with no line, an option error ended
// `at <unknown source>`, and a type error compiled in silence.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import flatgradEsbuild from '../../src/build/esbuild.ts';
import flatgradVite from '../../src/build/vite.ts';
import { checkTypes, modelModule } from '../../src/cli/model-file.ts';
import { markers } from '../support/helpers.ts';

const bin = new URL('../../bin/flatgrad.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'flatgrad-model-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'package.json'), '{ "type": "module" }');
const { at } = markers(import.meta.url);

/** A model file of these lines (`import { graph } from 'flatgrad'` first); its path. */
function modelFile(name: string, lines: readonly string[]): string {
  writeFileSync(join(dir, name), ["import { graph } from 'flatgrad';", ...lines, ''].join('\n'));
  return join(dir, name);
}

/** The error of compiling a model file as `flatgrad compile` does, in this process. */
const compileError = (file: string) => modelModule(file).then(() => undefined, (e: Error) => e.message);

const net = ["const g = graph('net');", "const x = g.input('x', ['N', 3]);", "const loss = x.matmul(g.param('w', [3, 2])).sum();"];

describe("a model file's mistakes are placed in it", () => {
  it('a misspelt op: its line, and the method meant — and the CLI prints it so', () => {
    modelFile('typo.ts', ["const g = graph('typo');", "const h = g.input('x', [2, 3]).sigmoidd();", 'export default { graph: g, loss: h.sum() };']);
    const run = spawnSync(process.execPath, [bin, 'compile', 'typo.ts', '-o', 'gen'], { cwd: dir, encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      "flatgrad: cannot load model file 'typo.ts': g.input(...).sigmoidd is not a function — a tensor has no method 'sigmoidd'; did you mean 'sigmoid'?\n    at typo.ts:3:32\n",
    );
  });

  it('an unknown option: the line of its key, and the key meant', async () => {
    const file = modelFile('option.ts', [...net, 'export default {', '  graph: g,', '  loss,', '  optimiser: { adam: {} },', '};']);
    const message = await compileError(file);
    expect(message).toMatch(/^model file '.*option\.ts': unknown option 'optimiser' — did you mean 'optimizer'\? \(the options are 'graph', 'loss', /);
    expect(message).toMatch(/\n {4}at .*option\.ts:8:3$/);
  });

  it('a key that is no identifier is named as it is (not a broken pattern)', async () => {
    const file = modelFile('quoted.ts', [...net, "export default { graph: g, loss, 'dims(': { N: 2 } };"]);
    expect(await compileError(file)).toMatch(/^model file '.*quoted\.ts': unknown option 'dims\(' — did you mean 'dims'\?.*\n {4}at .*quoted\.ts:5:35$/s);
  });

  it("a bad option's value, a dim bound to 0: the line of its key, not <unknown source>", async () => {
    const value = modelFile('value.ts', [...net, "export default { graph: g, loss, dims: { N: 2 }, dtype: 'f16' };"]);
    expect(await compileError(value)).toMatch(/^compile: dtype must be 'f32' or 'f64', got "f16"\n {4}at .*value\.ts:5:50$/);
    const dim = modelFile('dim.ts', [...net, 'export default { graph: g, loss, dims: { N: 0 } };']);
    expect(await compileError(dim)).toMatch(/^compile: dim 'N' must be bound to a positive integer, got 0\n {4}at .*dim\.ts:5:42$/);
    // flatgrad graph and explain too
    const run = spawnSync(process.execPath, [bin, 'graph', 'dim.ts', '-o', '-'], { cwd: dir, encoding: 'utf8' });
    expect(run.stderr).toBe("flatgrad: compile: dim 'N' must be bound to a positive integer, got 0\n    at dim.ts:5:42\n");
  });

  it('a type error: compiled without --check-types (the types are stripped), refused with it', async () => {
    const typed = modelFile('typed.ts', [...net, "export const batch: number = 'sixty-four';", 'export default { graph: g, loss, dims: { N: 2 } };']);
    expect(await compileError(typed)).toBeUndefined();
    const message = await checkTypes(typed).then(() => undefined, (e: Error) => e.message);
    expect(message).toMatch(/^model file '.*typed\.ts' has 1 type error \(--check-types\):\n.*typed\.ts\(5,14\): error TS2322: Type 'string' is not assignable to type 'number'\.$/);
    await checkTypes(modelFile('clean.ts', [...net, 'export default { graph: g, loss, dims: { N: 2 } };']));
  }, 60_000);
});

describe('the build plugins refuse an unknown option where they are made', () => {
  it('vite and esbuild', () => {
    expect(() => flatgradVite({ dim: { N: 2 } } as never)).toThrow("flatgrad plugin: unknown option 'dim' — did you mean 'dims'?");
    expect(() => flatgradVite({ dim: { N: 2 } } as never)).toThrow(at('vite')); // @vite
    expect(() => flatgradEsbuild({ includes: /x/ } as never)).toThrow("flatgrad plugin: unknown option 'includes' — did you mean 'include'?");
    expect(flatgradVite({ dims: { N: 2 }, include: /\.net\.ts$/ }).name).toBe('flatgrad');
  });
});
