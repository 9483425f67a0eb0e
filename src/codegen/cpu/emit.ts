import type { Program } from '../../lower/program.ts';
import { ScalarEmitter } from './scalar.ts';
import { TensorEmitter } from './tensor.ts';

/** Emit a self-contained TypeScript module (no imports) for a lowered program. */
export function emitTypeScript(p: Program): string {
  return (p.scalarMode ? new ScalarEmitter(p) : new TensorEmitter(p)).module();
}
