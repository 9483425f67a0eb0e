// The identifier each value of a program gets in the code a renderer or host writes: its own name, unless the
// language or the code itself needs that name (`reserved`); then a fresh one. Each target says what it reserves:
// a TypeScript module's names (src/codegen/host/reserved.ts), the WebGPU host's beside them (webgpu/host.ts,
// WEBGPU_HOST), WGSL's (wgsl/shaders.ts).

/** What code written into a module asks of it: a value's identifier, a fresh one, and the prelude helpers it calls. */
export interface ModuleNames {
  /** The identifier of a value in the code. */
  id(name: string): string;
  /** A new identifier, beside every value's and every other the module uses. */
  fresh(base: string): string;
  /** A prelude helper the code calls (flush_subnormal, matmul), written once before the factory. */
  use(helper: string): void;
}

/** The identifiers of one module: every value's, and fresh ones for what the code derives (loop_h, gemm_64x1000x100). */
export class Identifiers {
  private readonly taken = new Set<string>();
  private readonly renamed = new Map<string, string>();

  /**
   * `names`: every name of the program's values, so that a renamed one and a derived one avoid them all.
   * `reserved`: what the code needs for itself, and `rename`, what a value's name becomes when it is reserved
   * (a name it gives must not be reserved itself).
   */
  constructor(names: Iterable<string>, private readonly reserved: (name: string) => boolean, rename = (n: string) => `${n}_`) {
    const all = [...names];
    for (const n of all) this.taken.add(n);
    for (const n of all) if (reserved(n) && !this.renamed.has(n)) this.renamed.set(n, this.fresh(rename(n)));
  }

  /** The identifier of the value named `name`. */
  id(name: string): string {
    return this.renamed.get(name) ?? name;
  }

  /** A new identifier: `base`, else base_2, base_3, …, never a value's or one the code uses. */
  fresh(base: string): string {
    let name = base;
    for (let k = 2; this.taken.has(name) || this.reserved(name); k++) name = `${base}_${k}`;
    this.taken.add(name);
    return name;
  }
}

/**
 * What the TypeScript renderer's conv and pooling loops name (typescript/windows.ts). A module reserves them only
 * when it has such a kernel, so that no other module's identifiers change.
 */
export const WINDOW_NAMES: readonly string[] = ['n', 'f', 'j', 'c', 'c0', 'kh', 'kw', 'row', 'col', 'sum', 'dout', 'best', 'at', 'count', 'v', 'q', 'j0', 'j1', 'from'];
