// The lint config's layer rule (eslint.config.js, layers) holds the house's shape: kernel renderers import no
// host, no other renderer and no file system; the shared layer imports neither. `npm run lint` enforces it over
// the code as it is; this checks the rule itself refuses each crossing, so that a config edit cannot lose it.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: new URL('../..', import.meta.url).pathname });

/** The layer messages ESLint gives for one import line in a file at `path`. */
async function crossings(path: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${source}\nexport {};\n`, { filePath: path });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the layer rule', () => {
  it.each([
    ['src/codegen/wasm/x.ts', "import { WasmKernels } from '../cpu/wasm-kernels.ts';", /stages before it/],
    ['src/codegen/wgsl/x.ts', "import { ExprPrinter } from '../typescript/expr.ts';", /stages before it/],
    ['src/codegen/typescript/x.ts', "import { mapFunction } from '../wasm/map.ts';", /stages before it/],
    ['src/codegen/typescript/x.ts', "import { ModuleEmitter } from '../host/module.ts';", /stages before it/],
    ['src/codegen/wgsl/x.ts', "import { readFileSync } from 'node:fs';", /renderer is pure/],
    ['src/codegen/code.ts', "import { wgslModule } from './wgsl/shaders.ts';", /stages before it/],
    ['src/codegen/host/x.ts', "import { TensorEmitter } from '../cpu/tensor.ts';", /stages before it/],
    ['src/codegen/host/x.ts', "import { ExprPrinter } from '../typescript/expr.ts';", /stages before it/],
    ['src/codegen/identifiers.ts', "import { readFileSync } from 'node:fs';", /renderer is pure/],
    ['src/codegen/webgpu/x.ts', "import { WasmKernels } from '../cpu/wasm-kernels.ts';", /stages before it/],
    ['src/lower/x.ts', "import { emitTypeScript } from '../codegen/cpu/emit.ts';", /stages before it/],
  ])('%s may not: %s', async (path, line, message) => {
    const found = await crossings(path, line);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(message);
  });

  it.each([
    ['src/codegen/cpu/x.ts', "import { mapFunction } from '../wasm/map.ts';"],
    ['src/codegen/webgpu/x.ts', "import { wgslModule } from '../wgsl/shaders.ts';"],
    ['src/codegen/wasm/x.ts', "import { Identifiers } from '../identifiers.ts';"],
    ['src/codegen/host/x.ts', "import { readFileSync } from 'node:fs';"],
  ])('%s may: %s', async (path, line) => {
    expect(await crossings(path, line)).toEqual([]);
  });
});
