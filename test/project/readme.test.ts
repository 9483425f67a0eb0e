// The README's TypeScript compiles as written (and that of the docs/ pages the guide sends a user to for more,
// GUIDE_PAGES): every ```ts block is type-checked, as a module of its own at the
// repository's root (so `flatgrad` is this repository's source, by tsconfig.json's paths, and ./generated/ is there),
// under tsconfig.json's strict options. A block that is a fragment says so in an HTML comment just above it:
//   <!-- readme-test: skip (why) -->                     not checked (an excerpt of generated code, two files in one)
//   <!-- readme-test: declare g: Graph, loss: Tensor --> checked with those names declared (types from flatgrad)
// "Fifteen lines" is also run, and prints the losses the README shows for `npm start`.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const GUIDE_PAGES = ['README.md', 'docs/api.md', 'docs/custom-ops.md', 'docs/webgpu.md', 'docs/build-plugins.md'];

interface Block {
  /** The file it is in, and its first line there. */
  readonly file: string;
  readonly line: number;
  readonly code: string;
  readonly skip?: string;
  readonly declare?: string;
}

/** The README's ```ts blocks, with the readme-test comment above each, if any. */
export function tsBlocks(text: string, file = 'README.md'): Block[] {
  const blocks: Block[] = [];
  for (const m of text.matchAll(/(?:<!-- readme-test: (skip|declare) ([^\n]*?) -->\n)?```ts\n([\s\S]*?)```/g)) {
    const line = text.slice(0, m.index).split('\n').length + (m[1] ? 1 : 0);
    blocks.push({ file, line, code: m[3]!, ...(m[1] === 'skip' ? { skip: m[2]! } : m[1] === 'declare' ? { declare: m[2]! } : {}) });
  }
  return blocks;
}

/** `g: Graph, lr: Schedule` → the declarations, their capitalized type names imported from flatgrad. */
function declarations(list: string): string {
  const pairs = list.split(/,\s*(?=\w+:)/).map((p) => p.trim());
  const types = new Set(pairs.flatMap((p) => [...p.slice(p.indexOf(':') + 1).matchAll(/\b[A-Z]\w*/g)].map((t) => t[0])));
  const builtin = new Set(['Float32Array', 'Float64Array', 'Int32Array', 'Uint8Array', 'ArrayBuffer', 'Promise', 'Record', 'Array']);
  const imported = [...types].filter((t) => !builtin.has(t));
  return `${imported.length ? `import type { ${imported.join(', ')} } from 'flatgrad';\n` : ''}${pairs.map((p) => `declare const ${p};`).join('\n')}\n`;
}

function typeCheck(blocks: readonly Block[]): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, {
    ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); },
  })!;
  const files = new Map<string, { text: string; block: Block; offset: number }>();
  blocks.forEach((block, k) => {
    const head = block.declare ? declarations(block.declare) : '';
    files.set(join(root, `readme-block-${k}.ts`), { text: `${head}${block.code}\nexport {};\n`, block, offset: head.split('\n').length - 1 });
  });
  const options = { ...config.options, noUnusedLocals: false, moduleDetection: ts.ModuleDetectionKind.Force };
  const host = ts.createCompilerHost(options);
  const read = host.readFile.bind(host);
  const exists = host.fileExists.bind(host);
  const source = host.getSourceFile.bind(host);
  host.readFile = (f) => files.get(f)?.text ?? read(f);
  host.fileExists = (f) => files.has(f) || exists(f);
  host.getSourceFile = (f, v, ...rest) => (files.has(f) ? ts.createSourceFile(f, files.get(f)!.text, v) : source(f, v, ...rest));
  const program = ts.createProgram([...files.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).filter((d) => d.file && files.has(d.file.fileName)).map((d) => {
    const { block, offset } = files.get(d.file!.fileName)!;
    const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
    return `${block.file}:${block.line + line - offset + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

describe("the README's code", () => {
  const blocks = GUIDE_PAGES.flatMap((page) => tsBlocks(readFileSync(join(root, page), 'utf8'), page));
  const checked = blocks.filter((b) => !b.skip);
  // A block that must fail, checked in the same program: the check sees errors (and says where).
  const wrong: Block = { file: 'README.md', line: 1000, code: "import { graph } from 'flatgrad';\nconst n: string = graph('g').params().length;\n" };

  it('every ```ts block that is not marked a fragment type-checks as written, flatgrad resolved to this repository', () => {
    // the guide's main blocks are checked: Fifteen lines, training, data and checkpoints, custom ops, WebGPU
    expect(checked.length).toBeGreaterThanOrEqual(5);
    expect(typeCheck([...checked, wrong])).toEqual([expect.stringMatching(/^README\.md:1002: Type 'number' is not assignable to type 'string'/)]);
  });

  it('a skipped block says why', () => {
    for (const b of blocks.filter((x) => x.skip !== undefined)) expect(b.skip, `${b.file}:${b.line}`).toMatch(/^\(.{10,}\)$/);
  });

  it('"Fifteen lines" runs and prints the losses the README shows for `npm start`', () => {
    const section = readme.slice(readme.indexOf('## Fifteen lines'));
    const fifteen = tsBlocks(section)[0]!.code;
    expect(fifteen).not.toMatch(/\bxs\b|\bys\b/);
    const file = join(root, `.readme-fifteen-${process.pid}.ts`);
    writeFileSync(file, fifteen);
    try {
      const run = spawnSync(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), file], { cwd: root, encoding: 'utf8' });
      expect(run.stderr).toBe('');
      const printed = /```\n(step {4}0 [\s\S]*?)```/.exec(section)![1]!.split('\n').filter((l) => l.startsWith('step'));
      const lines = run.stdout.trim().split('\n');
      expect(printed.length).toBeGreaterThanOrEqual(3);
      for (const l of printed) expect(lines).toContain(l);
    } finally {
      rmSync(file, { force: true });
    }
  });
});
