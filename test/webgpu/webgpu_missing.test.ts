// Without the webgpu package (Node has no navigator.gpu), compiling for WebGPU says what to install, at the
// compile() call that asked for it (it pointed at graph() before).
import { expect, it, vi } from 'vitest';
import { compile, graph } from '../../src/index.ts';
import { markers, rejected } from '../support/helpers.ts';

vi.mock('webgpu', () => {
  throw new Error("Cannot find package 'webgpu'");
});
const { at } = markers(import.meta.url);

it("a missing webgpu package is named at compile()'s line", async () => {
  const g = graph('no_gpu');
  const loss = g.input('x', [2, 3]).matmul(g.param('w', [3, 1])).sum();
  const e = await rejected(() => compile(g, { loss, target: 'webgpu' })); // @compile
  expect(e.message).toMatch(/^compile: target 'webgpu' needs a WebGPU implementation: in a browser, one with WebGPU; in Node, the webgpu package \(npm install webgpu\)/);
  expect(e.message).toContain(`\n    at ${at('compile')}`);
});
