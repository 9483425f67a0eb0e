// Headless Chromium for the browser tests and the demo's screenshot: Debian's package (scripts/install-chromium.sh),
// driven by playwright-core (no browser download), and a static server on 127.0.0.1 for the pages it loads.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Why Chromium cannot run here, and how to fix it; undefined when it can. */
export const chromiumMissing = (): string | undefined => (existsSync(CHROMIUM) ? undefined : `no ${CHROMIUM}; scripts/install-chromium.sh installs Debian's chromium`);

export function launchChromium(args: readonly string[] = []): Promise<Browser> {
  // Without the background-networking switches Chromium keeps calling out, and this machine's closed network refuses it.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...args] });
}

const TYPES: Readonly<Record<string, string>> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml', '.json': 'application/json' };

/** The headers that make a page cross-origin isolated: SharedArrayBuffer, and so a threaded model's shared memory. */
export const ISOLATED: Readonly<Record<string, string>> = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

/** Serve these files (path → [content type, body]) on 127.0.0.1 at a free port, each with `headers`; `url` is the server's root. */
export async function serveFiles(files: Readonly<Record<string, readonly [string, string | Uint8Array]>>, headers: Readonly<Record<string, string>> = {}): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const file = files[path] ?? files[join(path, 'index.html')];
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { ...headers, 'content-type': file[0] }).end(file[1]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

/** Serve a folder of static files (a Vite build) the same way. */
export function serveDir(dir: string): Promise<{ server: Server; url: string }> {
  const files: Record<string, [string, Uint8Array]> = {};
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const path = join(dir, entry);
    if (!statSync(path).isFile()) continue;
    files[`/${entry.split('\\').join('/')}`] = [TYPES[extname(entry)] ?? 'application/octet-stream', readFileSync(path)];
  }
  return serveFiles(files);
}
