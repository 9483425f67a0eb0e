// Importing an op file registers its ops.
import './arithmetic.ts';
import './math.ts';
import './matmul.ts';
import './reduce.ts';
import './layout.ts';
import './compare.ts';
import './indexing.ts';
import './convolution.ts';
import './pooling.ts';
import './composite.ts';

export { allComposites, allOps, findOp, getOp, unknownOp, type CompositeDef, type OpDef } from './registry.ts';
