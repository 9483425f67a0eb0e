// Importing an op file registers its ops.
import './arithmetic.ts';
import './math.ts';
import './matmul.ts';
import './reduce.ts';
import './layout.ts';

export { allOps, getOp, type OpDef } from './registry.ts';
