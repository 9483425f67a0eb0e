import type { ProgramGraph } from './program.ts';

/** The passes, in order. Each is a small file with its own before/after tests. */
export function optimize(p: ProgramGraph): ProgramGraph {
  return p;
}
