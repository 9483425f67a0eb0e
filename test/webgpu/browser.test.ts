// The generated WebGPU module runs unchanged in a browser: generated/two_layer_net.webgpu.ts, its types stripped,
// is served from 127.0.0.1 to headless Chromium (Debian's package, scripts/install-chromium.sh; driven by
// playwright-core), which trains a few steps on its own WebGPU (SwiftShader here) from the same seed and feeds as
// Node does; the losses must agree with the CPU backend's and with Node's WebGPU (where it has an adapter). Without Chromium the test is skipped with the reason in
// its name; under CI it fails.
import { readFileSync } from 'node:fs';
import { transform } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { chromiumMissing, ISOLATED, launchChromium, serveFiles } from '../../scripts/chromium.ts';
import { compile, mulberry32, randn } from '../../src/index.ts';
import spec from '../../examples/two_layer_net.ts';
import { real } from '../support/webgpu.ts';

const STEPS = 5;
const LR = 1e-6;
const SEED = 4;

const { N, D_in, D_out } = spec.dims;
const rng = mulberry32(21);
const x = Float32Array.from({ length: N * D_in }, () => randn(rng));
const y = Float32Array.from({ length: N * D_out }, () => randn(rng));

const page = `<!doctype html><meta charset="utf-8"><title>flatgrad in the browser</title>
<script type="module">
import createModel from './two_layer_net.webgpu.js';
try {
  const adapter = await navigator.gpu?.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter in this browser');
  const device = await adapter.requestDevice();
  const data = new Float32Array(await (await fetch('./feeds.bin')).arrayBuffer());
  const feeds = { x: data.subarray(0, ${N * D_in}), y: data.subarray(${N * D_in}) };
  const model = await createModel(device, { seed: ${SEED} });
  const losses = [];
  for (let s = 0; s < ${STEPS}; s++) {
    model.step(feeds, ${LR});
    losses.push(await model.loss());
  }
  model.dispose();
  window.result = { losses, adapter: [adapter.info?.vendor, adapter.info?.architecture, adapter.info?.description].filter(Boolean).join(' ') };
} catch (e) {
  window.result = { error: String(e && e.stack || e) };
}
</script>`;

const why = chromiumMissing();
const browserIt = why === undefined || process.env.CI ? it : it.skip;

describe('the generated WebGPU module in headless Chromium', () => {
  browserIt(`generated/two_layer_net.webgpu.ts trains ${STEPS} steps in the page like the CPU backend${why && !process.env.CI ? ` (skipped: ${why})` : ''}`, async () => {
    if (why) throw new Error(why);
    const source = readFileSync(new URL('../../generated/two_layer_net.webgpu.ts', import.meta.url), 'utf8');
    const { code } = await transform(source, { loader: 'ts', format: 'esm', target: 'es2022' });
    const { server, url } = await serveFiles({
      '/': ['text/html', page],
      '/two_layer_net.webgpu.js': ['text/javascript', code],
      '/feeds.bin': ['application/octet-stream', new Uint8Array(Float32Array.from([...x, ...y]).buffer)],
    });
    const browser = await launchChromium(['--enable-unsafe-webgpu']);
    try {
      const tab = await browser.newPage();
      const errors: string[] = [];
      tab.on('pageerror', (e) => errors.push(e.message));
      await tab.goto(url);
      await tab.waitForFunction(() => 'result' in window, undefined, { timeout: 90_000 });
      const result = (await tab.evaluate(() => (window as unknown as { result: unknown }).result)) as { losses?: number[]; adapter?: string; error?: string };
      expect(errors).toEqual([]);
      expect(result.error).toBeUndefined();
      const { graph, ...options } = spec;
      const cpu = await compile(graph, { ...options, seed: SEED, wasm: false });
      const expected = Array.from({ length: STEPS }, () => cpu.step({ x, y }, LR));
      expect(result.losses).toHaveLength(STEPS);
      result.losses!.forEach((loss, s) => expect(Math.abs(loss - expected[s]!), `step ${s} on ${result.adapter}: ${loss} vs ${expected[s]}`).toBeLessThanOrEqual(1e-4 * Math.abs(expected[s]!)));
      expect(expected[STEPS - 1]).toBeLessThan(expected[0]!);
      if (real.device) {
        const node = await compile(graph, { ...options, seed: SEED, target: 'webgpu', device: real.device });
        for (const [s, loss] of result.losses!.entries()) {
          node.step({ x, y }, LR);
          const there = await node.loss();
          expect(Math.abs(loss - there), `step ${s}: ${result.adapter} ${loss}, Node on ${real.description} ${there}`).toBeLessThanOrEqual(1e-4 * Math.abs(there));
        }
        node.dispose();
      }
    } finally {
      await browser.close();
      server.close();
    }
  }, 120_000);

  // A page's main thread may not block, so a threaded model runs inside a Web Worker, whose own Web Workers share
  // its memory; the page must be cross-origin isolated (COOP/COEP) for SharedArrayBuffer.
  const threadedPage = `<!doctype html><meta charset="utf-8"><title>flatgrad threads in the browser</title>
<script type="module">
import createModel from './two_layer_net.js';
const data = new Float32Array(await (await fetch('./feeds.bin')).arrayBuffer());
const main = createModel({ seed: ${SEED}, threads: 2 }); // on the page's main thread: one thread, with a warning
const onMain = { workers: main.workers.length, loss: main.step({ x: data.subarray(0, ${N * D_in}), y: data.subarray(${N * D_in}) }, ${LR}) };
const worker = new Worker('./train.js', { type: 'module' });
worker.onmessage = (e) => (window.result = { ...e.data, onMain, isolated: crossOriginIsolated });
worker.onerror = (e) => (window.result = { error: e.message });
</script>`;
  const trainer = `import createModel from './two_layer_net.js';
try {
  const data = new Float32Array(await (await fetch('./feeds.bin')).arrayBuffer());
  const feeds = { x: data.subarray(0, ${N * D_in}), y: data.subarray(${N * D_in}) };
  const run = async (threads) => {
    const model = createModel({ seed: ${SEED}, threads });
    await model.ready(); // the workers start once this thread yields
    const losses = Array.from({ length: ${STEPS} }, () => model.step(feeds, ${LR}));
    const result = { losses, workers: model.workers.length, kernels: model.kernels };
    model.dispose();
    return result;
  };
  postMessage({ one: await run(1), two: await run(2) });
} catch (e) {
  postMessage({ error: String(e && e.stack || e) });
}`;

  browserIt(`a threaded model (generated/two_layer_net.ts) trains in a Web Worker on 2 threads, bit for bit as on 1${why && !process.env.CI ? ` (skipped: ${why})` : ''}`, async () => {
    if (why) throw new Error(why);
    const source = readFileSync(new URL('../../generated/two_layer_net.ts', import.meta.url), 'utf8');
    expect(source).toContain('thread_pool(');
    const { code } = await transform(source, { loader: 'ts', format: 'esm', target: 'es2022' });
    const { server, url } = await serveFiles({
      '/': ['text/html', threadedPage],
      '/two_layer_net.js': ['text/javascript', code],
      '/train.js': ['text/javascript', trainer],
      '/feeds.bin': ['application/octet-stream', new Uint8Array(Float32Array.from([...x, ...y]).buffer)],
    }, ISOLATED);
    // The same module on a page that is not cross-origin isolated (no SharedArrayBuffer): Wasm kernels, one thread, no word.
    const plain = await serveFiles({
      '/': ['text/html', `<!doctype html><script type="module">
import createModel from './two_layer_net.js';
const data = new Float32Array(await (await fetch('./feeds.bin')).arrayBuffer());
const model = createModel({ seed: ${SEED} });
const loss = model.step({ x: data.subarray(0, ${N * D_in}), y: data.subarray(${N * D_in}) }, ${LR});
window.result = { kernels: model.kernels, workers: model.workers.length, loss, isolated: crossOriginIsolated };
</script>`],
      '/two_layer_net.js': ['text/javascript', code],
      '/feeds.bin': ['application/octet-stream', new Uint8Array(Float32Array.from([...x, ...y]).buffer)],
    });
    const browser = await launchChromium();
    try {
      const tab = await browser.newPage();
      const errors: string[] = [];
      const warnings: string[] = [];
      tab.on('pageerror', (e) => errors.push(e.message));
      tab.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
      await tab.goto(plain.url);
      await tab.waitForFunction(() => 'result' in window, undefined, { timeout: 90_000 });
      const single = (await tab.evaluate(() => (window as unknown as { result: unknown }).result)) as { kernels: string; workers: number; loss: number; isolated: boolean };
      expect(single).toEqual({ kernels: expect.stringMatching(/^wasm-/) as string, workers: 0, loss: expect.any(Number) as number, isolated: false });
      expect(errors).toEqual([]);
      expect(warnings).toEqual([]);
      await tab.goto(url);
      await tab.waitForFunction(() => 'result' in window, undefined, { timeout: 90_000 });
      type Run = { losses: number[]; workers: number; kernels: string };
      const result = (await tab.evaluate(() => (window as unknown as { result: unknown }).result)) as {
        one?: Run; two?: Run; onMain?: { workers: number; loss: number }; isolated?: boolean; error?: string;
      };
      expect(errors).toEqual([]);
      expect(result.error).toBeUndefined();
      expect(result.isolated).toBe(true);
      expect(result.two!.workers).toBe(1);
      expect(result.two!.kernels).toMatch(/^wasm-/);
      expect(result.two!.losses).toEqual(result.one!.losses);
      expect(result.onMain).toEqual({ workers: 0, loss: result.one!.losses[0] });
      expect(single.loss).toBe(result.one!.losses[0]);
      expect(warnings).toEqual(["flatgrad: 2 threads asked for, but a page's main thread may not wait for workers (run the model inside a Web Worker): running on one thread"]);
      // Node's kernels (without relaxed SIMD's fused multiply-add, where its V8 has none) agree closely.
      const { graph, ...options } = spec;
      const node = await compile(graph, { ...options, seed: SEED, threads: 1 });
      result.one!.losses.forEach((loss) => {
        const there = node.step({ x, y }, LR);
        expect(Math.abs(loss - there)).toBeLessThanOrEqual(1e-5 * Math.abs(there));
      });
    } finally {
      await browser.close();
      server.close();
      plain.server.close();
    }
  }, 120_000);
});
