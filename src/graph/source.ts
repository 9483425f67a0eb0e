import { fileURLToPath } from 'node:url';
import { relative, sep } from 'node:path';

const srcDir = fileURLToPath(new URL('..', import.meta.url));
const frame = /\(?((?:file:\/\/)?[^()\s]+):(\d+):(\d+)\)?\s*$/;

/**
 * The first stack frame outside flatgrad's own src/: the user's line that created a node.
 * Captured once per node so shape errors, even ones found later, can point at it.
 */
export function userSite(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  for (const line of stack.split('\n').slice(1)) {
    const m = frame.exec(line);
    if (!m) continue;
    let file = m[1]!;
    if (file.startsWith('file://')) file = fileURLToPath(file);
    if (file.startsWith(srcDir) || file.startsWith('node:') || file.includes(`${sep}node_modules${sep}`)) continue;
    const rel = relative(process.cwd(), file);
    return `${rel.startsWith('..') ? file : rel}:${m[2]}:${m[3]}`;
  }
  return '<unknown source>';
}
