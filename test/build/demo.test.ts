// The lecture's 2-D classifier in the browser (examples/demo/): Vite builds it with flatgrad/vite, which turns the
// model file into its generated modules at build time; the bundle holds them and none of the compiler. Headless
// Chromium (Debian's, scripts/install-chromium.sh) loads the built page from 127.0.0.1, it trains a fixed number of
// steps from a seed, and the accuracy it shows must reach what the same training reaches in Node. Without Chromium
// the browser part is skipped with the reason in its name; under CI it fails.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/index.ts';
import { chromiumMissing } from '../../scripts/chromium.ts';
import { buildDemo, trainInPage } from '../../scripts/demo.ts';
import spec from '../../examples/demo/spiral.model.ts';
import { accuracy, spiral } from '../../examples/spiral-data.ts';

const STEPS = 300;
const SEED = 1;
const dir = mkdtempSync(join(tmpdir(), 'flatgrad-demo-'));
beforeAll(() => buildDemo(dir), 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const why = chromiumMissing();

/** A PNG's width and height (from its IHDR chunk), after checking its signature. */
function pngSize(png: Buffer): [number, number] {
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  return [png.readUInt32BE(16), png.readUInt32BE(20)];
}
const browserIt = why === undefined || process.env.CI ? it : it.skip;

describe('the demo page', () => {
  it('vite build bundles the generated modules of three hidden sizes, their code as text, and no compiler', () => {
    const assets = join(dir, 'assets');
    const js = readdirSync(assets).filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(assets, f), 'utf8')).join('\n');
    // three variants, each with its embedded Wasm kernels and its TypeScript shown by the page's button
    for (const h of [10, 50, 100]) expect(js).toContain(`gemm_300x2x${h}_bias_relu`);
    expect(js.match(/\/\/ dims: N=300, H=\d+/g)?.length).toBe(3);
    // nothing of the compiler: the graph API's errors, the op registry, autodiff, esbuild, Graphviz
    for (const compiler of ['is registered twice', 'grad: the loss', 'belongs to graph', 'esbuild', 'viz-js', 'ts-morph']) expect(js).not.toContain(compiler);
  });

  browserIt(`trains ${STEPS} steps in headless Chromium to the accuracy the same training reaches in Node${why && !process.env.CI ? ` (skipped: ${why})` : ''}`, async () => {
    if (why) throw new Error(why);
    const shot = join(dir, 'screenshot.png');
    const page = await trainInPage(dir, STEPS, SEED, shot);
    expect(page.errors).toEqual([]);
    expect(page.steps).toBe(STEPS);
    const { graph, ...options } = spec;
    const model = await compile(graph, { ...options, seed: SEED });
    const data = spiral(100, 3);
    const feeds = { x: data.x, labels: data.labels, lambda: 0.001 };
    for (let t = 0; t < STEPS; t++) model.step(feeds, 1);
    const loss = model.forward(feeds);
    const node = accuracy(model.outputs.scores!, data.labels, 3);
    expect(node).toBeGreaterThan(0.8);
    // Chromium runs the relaxed-SIMD kernels (fused multiply-add), Node 20 the plain ones: close, not bit for bit.
    expect(page.accuracy).toBeGreaterThanOrEqual(node - 0.02);
    expect(Math.abs(page.loss - loss)).toBeLessThan(0.01);
    // The page as docs/demo.png shows it (the README's; `npm run demo -- screenshot` writes it after 1,000 steps).
    expect(pngSize(readFileSync(shot))).toEqual(pngSize(readFileSync(new URL('../../docs/demo.png', import.meta.url))));
  }, 90_000);

  it("docs/demo.png, the README's screenshot, is a 900 × 560 PNG", () => {
    expect(pngSize(readFileSync(new URL('../../docs/demo.png', import.meta.url)))).toEqual([900, 560]);
  });
});
