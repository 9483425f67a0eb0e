/** A pass of the model: forward_pass, or train_pass (the forward pass, the backward pass and the update). */
type Pass<F> = (feeds: F, lr: number) => void;

/** The passes forward() and step() run through call_pass (see there). */
export interface Passes<F> {
  forward: Pass<F>;
  train: Pass<F>;
}

/**
 * forward() and step() run their pass as call_pass(passes.train, …): V8 then calls the pass, never inlines it,
 * since it cannot know which function a field written twice holds, and this call site has called others (the
 * two no-ops below). So forward() and step() stay small enough for V8 to inline into the loop that calls them,
 * where the loss they return needs no heap number. With the pass inlined they may be too large: V8 declines to
 * inline a function whose own optimized code has already inlined more than about 690 bytes of bytecode, and a
 * fraction returned from a call it did not inline is a new 16-byte heap number each time.
 */
export function call_pass<F>(pass: Pass<F>, feeds: F, lr: number): void {
  pass(feeds, lr);
}

/** The model's passes, each in a field written twice: V8 then treats the field as variable, and never assumes which function it holds. */
export function model_passes<F>(forward: Pass<F>, train: Pass<F>): Passes<F> {
  const passes: Passes<F> = { forward: skip_pass, train: skip_pass };
  passes.forward = forward;
  passes.train = train;
  return passes;
}

// V8 records a call site's targets only once its function has run a few times: 32 calls of each no-op make sure.
const skip_pass = (_feeds: unknown, _lr: number): void => {};
const idle_pass = (_feeds: unknown, _lr: number): void => {};
for (let i = 0; i < 32; i++) {
  call_pass(skip_pass, {}, 0);
  call_pass(idle_pass, {}, 0);
}
