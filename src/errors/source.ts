import { fileURLToPath } from 'node:url';
import { relative, sep } from 'node:path';

const srcDir = fileURLToPath(new URL('..', import.meta.url));
// "    at fn (path:line:col)" or "    at path:line:col"; the path may hold spaces.
const frame = /^\s*at (?:.*? \()?(.+?):(\d+):(\d+)\)?$/;

/**
 * Where a node was made: the user's file:line:col. The stack is captured when the node is made (a few µs) and
 * read only when something asks (formatting a stack costs far more), so building a large graph stays cheap.
 * `${site}` gives the text.
 */
export class Site {
  private constructor(
    private readonly error: Error | undefined,
    private text: string | undefined,
  ) {}

  /** The caller's site, to be read later. */
  static capture(): Site {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 40;
    const error = new Error();
    Error.stackTraceLimit = limit;
    return new Site(error, undefined);
  }

  static of(text: string): Site {
    return new Site(undefined, text);
  }

  toString(): string {
    if (this.text === undefined) this.text = firstUserFrame(this.error!.stack ?? '');
    return this.text;
  }
}

/** A file as errors name it: relative to the working directory when inside it, else absolute. */
export function shownPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

/** The first stack frame outside flatgrad's own src/ and node_modules: the user's line. */
export function firstUserFrame(stack: string): string {
  for (const line of stack.split('\n').slice(1)) {
    const m = frame.exec(line);
    if (!m) continue;
    // A model file the CLI or a plugin loaded afresh carries its modification time as a query: not part of its name.
    let file = m[1]!.replace(/\?mtime=[\d.]+$/, '');
    if (file.startsWith('file://')) file = fileURLToPath(file);
    if (file.startsWith(srcDir) || file.startsWith('node:') || file.includes(`${sep}node_modules${sep}`)) continue;
    return `${shownPath(file)}:${m[2]}:${m[3]}`;
  }
  return '<unknown source>';
}

/** The user's file:line:col that called into flatgrad, now: for an error about to be thrown. */
export function userSite(): string {
  return Site.capture().toString();
}
