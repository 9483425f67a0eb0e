// Shared by the renderers (the Wasm SIMD loops, the TypeScript helper functions, the WGSL shaders):
// every distinct subexpression is computed once (common subexpressions share one value), and at the outermost
// loop level where all its operands are known (a loop-invariant value is hoisted out of the loops below it).

/** A node of an expression as a renderer sees it: `key` names its value, `level` the loop it varies in (0: none). */
export interface Term {
  readonly key: string;
  readonly level: number;
  readonly args: readonly Term[];
}

/** How to compute a set of expressions: how often each value is used, and which to compute before each loop. */
export interface Schedule<T extends Term> {
  /** Uses of each value (by key) in the expressions: a value used twice is kept, not computed again. */
  readonly uses: ReadonlyMap<string, number>;
  /** Per level, the values to compute before its loop runs: those used by a deeper level than their own. */
  readonly hoisted: readonly (readonly T[])[];
}

/** The level an op's value varies at: that of its operand that varies innermost (literals and scalars: 0). */
export const levelOf = (args: readonly Term[]) => args.reduce((l, a) => Math.max(l, a.level), 0);

/** The schedule of `roots`, computed at level `innermost`. */
export function schedule<T extends Term>(roots: readonly T[], innermost: number): Schedule<T> {
  const uses = new Map<string, number>();
  const hoisted: T[][] = Array.from({ length: innermost + 1 }, () => []);
  const seen = new Set<string>();
  const todo: [T, number][] = roots.map((r) => [r, innermost]);
  for (let item = todo.pop(); item; item = todo.pop()) {
    const [node, parent] = item;
    const used = (uses.get(node.key) ?? 0) + 1;
    uses.set(node.key, used);
    if (node.level < parent && !seen.has(node.key)) {
      seen.add(node.key);
      hoisted[node.level]!.push(node);
    }
    // A value computed once reads its operands once, however often it is used.
    if (used === 1) for (const a of node.args) todo.push([a as T, node.level]);
  }
  // Operands before the values computed from them: deeper first down the tree, so reverse each level's list.
  for (const list of hoisted) list.reverse();
  return { uses, hoisted };
}
