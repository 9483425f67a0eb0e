// flatgrad/runtime: what an app that imports a generated module needs at run time — batches, evaluation, learning
// rate schedules, checkpoints from bytes, prediction over any number of rows, seeded random numbers — and nothing
// of the compiler. It imports no Node built-in, so it bundles for the browser as it is (test/build/package.test.ts).
export { FlatgradError } from '../errors/errors.ts';
export { batches, evaluate, type Batches, type BatchFeeds, type BatchOptions, type Dataset, type DataEntry, type EvaluatedModel, type EvaluateOptions, type Evaluation } from './data.ts';
export { cosine, inverseSqrt, linear, stepDecay, warmup, type Schedule } from './schedules.ts';
export { checkpointHeader, loadCheckpoint, saveCheckpoint, type CheckpointHeader, type CheckpointModel, type LoadOptions } from './checkpoint.ts';
export { predict, type PredictModel, type PredictOptions } from './predict.ts';
export { mulberry32, randn } from '../../templates/prelude/random.ts';
export type { Buffers, CreateModel, FeedValue, FeedValues, FloatBuffer, GeneratedModel, InputSpec } from './generated.ts';
export type { Enqueued } from '../../templates/prelude/enqueued.ts';
