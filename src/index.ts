import './ops/index.ts';

export { graph, Graph, Tensor, type DType, type Init, type TensorLike } from './graph/graph.ts';
// What an app needs at run time (flatgrad/runtime): FlatgradError, batches, evaluate, schedules, checkpoints, predict, random numbers.
export * from './runtime/index.ts';
export { grad } from './autodiff/grad.ts';
export { interpret } from './interpret/interpret.ts';
export { compile, emit, type CompileOptions, type GpuModel, type GpuSnapshot, type Model, type ModelOptions, type Feeds, type StageTimer } from './runtime/compile.ts';
export { gradcheck, type GradcheckOptions, type GradcheckResult } from './runtime/gradcheck.ts';
export { allComposites, allOps, getOp, type CompositeDef, type OpDef } from './ops/index.ts';
export {
  binaryCrossEntropyWithLogits, clip, elu, l1, l2, leakyRelu, logSoftmax, logSumExp, maxout, meanSquaredError, reciprocal,
  softmax, softmaxCrossEntropy, sumOfSquares, svmLoss,
} from './ops/composite.ts';
export { customOp, type CustomOp, type CustomOpSpec, type CustomOpDomain } from './ops/custom.ts';
/** The ALU IR's builders (alu.add, alu.exp, alu.where, …): what a custom op computes is written with these. */
export * as alu from './ir/builders.ts';
export type { Expr } from './ir/expr.ts';
export type { Optimizer } from './optim/optimizer.ts';
export { readCheckpoint, writeCheckpoint } from './runtime/checkpoint-file.ts';
export { drawGraph, graphDot, type DrawOptions } from './learn/picture.ts';
export { explain, type ExplainOptions, type ExplainStep } from './learn/explain.ts';
export { VERSION } from './version.ts';
