// `npm run demo`: the lecture's 2-D classifier (examples/demo/) served on http://127.0.0.1:5173 by Vite, its model
// compiled by flatgrad/vite as the page loads it.
//   npm run demo -- build        the static site, in examples/demo/dist/ (any static file server serves it)
//   npm run demo -- preview      serve that build on http://127.0.0.1:4173
//   npm run demo -- screenshot   build, train 1,000 steps in headless Chromium, write docs/demo.png (the README's)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, createServer, preview, type InlineConfig } from 'vite';
import demo from '../examples/demo/vite.config.ts';
import { launchChromium, serveDir } from './chromium.ts';

// The config is imported here (tsx or vitest runs it) rather than loaded by Vite, so that the plugin and the model
// files it loads share this process's flatgrad, from its TypeScript source.
const config: InlineConfig = { ...demo, configFile: false };

/** Build the demo into `outDir` (default examples/demo/dist). */
export async function buildDemo(outDir?: string): Promise<void> {
  await build({ ...config, logLevel: 'warn', build: { ...config.build, ...(outDir ? { outDir } : {}) } });
}

/** What the page shows after training: its accuracy on the spiral and its loss, read from the page. */
export interface PageRun {
  readonly accuracy: number;
  readonly loss: number;
  readonly steps: number;
  readonly errors: readonly string[];
}

/** Load a built demo in headless Chromium, let it train `steps` steps from `seed`, and read what it shows. */
export async function trainInPage(dir: string, steps: number, seed: number, screenshot?: string): Promise<PageRun> {
  const { server, url } = await serveDir(dir);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 900, height: 560 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${url}?steps=${steps}&seed=${seed}`);
    await page.waitForSelector('body[data-done="true"]', { timeout: 60_000 });
    const read = (id: string) => page.$eval(`#${id}`, (e) => (e as HTMLElement).dataset.value ?? e.textContent ?? '');
    const run = { accuracy: Number(await read('accuracy')), loss: Number(await read('loss')), steps: Number(await read('step')), errors };
    if (screenshot) await page.screenshot({ path: screenshot });
    return run;
  } finally {
    await browser.close();
    server.close();
  }
}

async function main(command: string): Promise<void> {
  if (command === 'build') return buildDemo();
  if (command === 'preview') return (await preview(config)).printUrls();
  if (command === 'serve') {
    const server = await createServer(config);
    await server.listen();
    return server.printUrls();
  }
  if (command === 'screenshot') {
    const dir = mkdtempSync(join(tmpdir(), 'flatgrad-demo-'));
    try {
      await buildDemo(dir);
      const file = fileURLToPath(new URL('../docs/demo.png', import.meta.url));
      const run = await trainInPage(dir, 1000, 1, file);
      console.log(`wrote docs/demo.png: ${run.steps} steps, loss ${run.loss}, accuracy ${(run.accuracy * 100).toFixed(1)}%`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return;
  }
  console.error(`npm run demo -- [serve|build|preview|screenshot]: unknown command '${command}'`);
  process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main(process.argv[2] ?? 'serve');
