import { readdirSync, readFileSync } from 'node:fs';

// templates/ is beside src/ in a checkout, and beside dist/ in the package (dist/src/codegen/host/prelude.js).
const dir = new URL(import.meta.url.endsWith('.js') ? '../../../../templates/prelude/' : '../../../templates/prelude/', import.meta.url);

/** A helper file's code (imports and `export` dropped: module-private in the generated module) and the helpers it imports. */
interface Helper {
  readonly code: string;
  readonly imports: readonly string[];
}
const cache = new Map<string, Helper>();

function helper(name: string): Helper {
  let h = cache.get(name);
  if (h === undefined) {
    const text = readFileSync(new URL(`${name}.ts`, dir), 'utf8');
    const imports = [...text.matchAll(/^import .* from '\.\/(\w+)\.ts';$/gm)].map((m) => m[1]!);
    h = { code: text.replace(/^import .*\n+/gm, '').replace(/^export (default )?/gm, '').trim(), imports };
    cache.set(name, h);
  }
  return h;
}

/** A prelude helper from templates/prelude/<name>.ts, as module-private code. */
export function prelude(name: string, dtype: 'f32' | 'f64'): string {
  const { code } = helper(name);
  return dtype === 'f64' ? code.replace(/\bFloat32Array\b/g, 'Float64Array') : code;
}

/** The helpers, and every helper they import in turn (check_feeds imports flatgrad_error, …). */
export function withImports(helpers: Iterable<string>): Set<string> {
  const all = new Set(helpers);
  for (const h of all) for (const i of helper(h).imports) all.add(i);
  return all;
}

/** Every name a prelude helper declares at the top level of a module (functions, types, constants). */
export function preludeNames(): string[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
  return files.flatMap((f) => [...helper(f).code.matchAll(/^(?:function|type|interface|const|let|class) ([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]!));
}
