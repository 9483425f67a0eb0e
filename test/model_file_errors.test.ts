// A model file given to the CLI or a plugin: its mistakes are reported at its own lines, as a script's are.
// Before, a misspelt op said `x.matmul(...).sigmoidd is not a function` with no line, an option error ended
// `at <unknown source>`, and a type error compiled in silence.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import flatgradEsbuild from '../src/build/esbuild.ts';
import flatgradVite from '../src/build/vite.ts';
import { markers } from './helpers.ts';

const bin = new URL('../bin/flatgrad.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'flatgrad-model-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'package.json'), '{ "type": "module" }');
const { at } = markers(import.meta.url);

/** Runs `flatgrad compile` on a model file of these lines (`import { graph } from 'flatgrad'` first). */
function compileFile(name: string, lines: readonly string[], ...flags: string[]) {
  writeFileSync(join(dir, name), ["import { graph } from 'flatgrad';", ...lines, ''].join('\n'));
  return spawnSync(process.execPath, [bin, 'compile', name, '-o', 'gen', ...flags], { cwd: dir, encoding: 'utf8' });
}

const net = ["const g = graph('net');", "const x = g.input('x', ['N', 3]);", "const loss = x.matmul(g.param('w', [3, 2])).sum();"];

describe('the CLI places a model file’s mistakes in it', () => {
  it('a misspelt op: its line, and the method meant', () => {
    const run = compileFile('typo.ts', ["const g = graph('typo');", "const h = g.input('x', [2, 3]).sigmoidd();", 'export default { graph: g, loss: h.sum() };']);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe("flatgrad: cannot load model file 'typo.ts': g.input(...).sigmoidd is not a function — a tensor has no method 'sigmoidd'; did you mean 'sigmoid'?\n    at typo.ts:3:32\n");
  });

  it('an unknown option: the line of its key, and the key meant', () => {
    const run = compileFile('option.ts', [...net, 'export default {', '  graph: g,', '  loss,', '  optimiser: { adam: {} },', '};']);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^flatgrad: model file 'option\.ts': unknown option 'optimiser' — did you mean 'optimizer'\? \(the options are 'graph', 'loss', /);
    expect(run.stderr).toContain('\n    at option.ts:8:3\n');
  });

  it("a bad option's value: the line of its key, not <unknown source>", () => {
    const run = compileFile('value.ts', [...net, "export default { graph: g, loss, dims: { N: 2 }, dtype: 'f16' };"]);
    expect(run.stderr).toBe("flatgrad: compile: dtype must be 'f32' or 'f64', got \"f16\"\n    at value.ts:5:50\n");
  });

  it('flatgrad graph and explain place them too: a dim bound to 0, at its key', () => {
    writeFileSync(join(dir, 'dim.ts'), ["import { graph } from 'flatgrad';", ...net, 'export default { graph: g, loss, dims: { N: 0 } };', ''].join('\n'));
    for (const command of [['graph', 'dim.ts', '-o', '-'], ['explain', 'dim.ts']]) {
      const run = spawnSync(process.execPath, [bin, ...command], { cwd: dir, encoding: 'utf8' });
      expect(run.stderr, command[0]).toBe("flatgrad: compile: dim 'N' must be bound to a positive integer, got 0\n    at dim.ts:5:42\n");
    }
  });

  it('a type error: compiled without --check-types (the types are stripped), refused with it', () => {
    const lines = [...net, "export const batch: number = 'sixty-four';", 'export default { graph: g, loss, dims: { N: 2 } };'];
    expect(compileFile('typed.ts', lines).status).toBe(0);
    const run = compileFile('typed.ts', lines, '--check-types');
    expect(run.status).toBe(1);
    expect(run.stderr).toBe("flatgrad: model file 'typed.ts' has 1 type error (--check-types):\ntyped.ts(5,14): error TS2322: Type 'string' is not assignable to type 'number'.\n");
    expect(compileFile('clean.ts', [...net, 'export default { graph: g, loss, dims: { N: 2 } };'], '--check-types').stdout).toBe('wrote gen/net.ts\n');
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
