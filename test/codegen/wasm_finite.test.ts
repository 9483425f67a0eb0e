// step()'s guard in Wasm: step_finite says whether every float of the loss and gradient buffers is finite, reading
// exactly their floats (a vector loop, then the last 1–3 one by one), never their padding.
import { describe, expect, it } from 'vitest';
import { ModuleBuilder } from '../../src/codegen/wasm/encoder.ts';
import { finiteFunction } from '../../src/codegen/wasm/finite.ts';

function checker(sizes: readonly number[]) {
  const buffers = sizes.map((size, k) => ({ offset: 1024 * (k + 1), size }));
  const memory = new WebAssembly.Memory({ initial: 1 });
  const mod = new ModuleBuilder().importMemory('env', 'memory', 1);
  mod.addFunction(finiteFunction(buffers), 'f');
  const bytes = mod.encode();
  const f = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports.f as () => number;
  const floats = new Float32Array(memory.buffer);
  return { f, floats, buffers };
}

describe('step_finite (Wasm)', () => {
  const sizes = [1, 3, 4, 5, 7, 8, 16, 17, 33, 36, 64, 70];
  it('is 1 when every float is finite, whatever sits in the padding', () => {
    const { f, floats, buffers } = checker(sizes);
    for (const b of buffers) {
      for (let i = 0; i < b.size; i++) floats[b.offset / 4 + i] = (i % 2 ? -1 : 1) * 3e38;
      for (let i = b.size; i < Math.ceil(b.size / 4) * 4 + 4; i++) floats[b.offset / 4 + i] = NaN;
    }
    expect(f()).toBe(1);
  });

  it.each([NaN, Infinity, -Infinity])('is 0 for %s at any position of any buffer', (bad) => {
    const { f, floats, buffers } = checker(sizes);
    for (const b of buffers) {
      for (let i = 0; i < b.size; i++) {
        floats[b.offset / 4 + i] = bad;
        expect(f(), `buffer of ${b.size}, float ${i}`).toBe(0);
        floats[b.offset / 4 + i] = 0.5;
      }
    }
    expect(f()).toBe(1);
  });
});
