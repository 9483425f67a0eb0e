import { readFileSync } from 'node:fs';

const dir = new URL('../../../templates/prelude/', import.meta.url);
const cache = new Map<string, string>();

/** A prelude helper from templates/prelude/<name>.ts, as module-private code (exports dropped). */
export function prelude(name: string, dtype: 'f32' | 'f64'): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(new URL(`${name}.ts`, dir), 'utf8').replace(/^export (default )?/gm, '').trim();
    cache.set(name, text);
  }
  return dtype === 'f64' ? text.replace(/\bFloat32Array\b/g, 'Float64Array') : text;
}
