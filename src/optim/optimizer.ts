// The lecture's optimizers: their settings, and each one's update written once as a map kernel of the IR with
// several outputs (the param and its moments), which every backend renders like any other kernel.
import { checkOptions, FlatgradError } from '../errors/errors.ts';
import { add, div, lit, mul, pow, sqrt, sub, type Expr } from '../ir/expr.ts';
import type { MapKernel } from '../ir/kernel.ts';

/**
 * The optimizer step() applies. The learning rate is step()'s argument, so a schedule changes it without
 * recompiling. `weightDecay` adds λ·p to the gradient (L2), except for AdamW, which decays the weights directly
 * (decoupled).
 */
export type Optimizer =
  | { readonly sgd: { readonly weightDecay?: number } }
  | { readonly momentum: { readonly beta?: number; readonly nesterov?: boolean; readonly weightDecay?: number } }
  | { readonly rmsprop: { readonly decay?: number; readonly eps?: number; readonly weightDecay?: number } }
  | { readonly adam: { readonly beta1?: number; readonly beta2?: number; readonly eps?: number; readonly weightDecay?: number } }
  | { readonly adamw: { readonly beta1?: number; readonly beta2?: number; readonly eps?: number; readonly weightDecay?: number } };

type Kind = 'sgd' | 'momentum' | 'rmsprop' | 'adam' | 'adamw';
const kinds: readonly Kind[] = ['sgd', 'momentum', 'rmsprop', 'adam', 'adamw'];

/** The optimizer's settings with defaults filled in, checked. */
export interface OptimizerPlan {
  readonly kind: Kind;
  readonly settings: Readonly<Record<string, number | boolean>>;
  /** State buffers kept per param, named `<slot>_<param>`. */
  readonly slots: readonly string[];
  /** Whether a step counter `step_count` is kept (Adam's bias correction). */
  readonly counter: boolean;
}

const defaults: Record<Kind, Record<string, number | boolean>> = {
  sgd: { weightDecay: 0 },
  momentum: { beta: 0.9, nesterov: false, weightDecay: 0 },
  rmsprop: { decay: 0.99, eps: 1e-8, weightDecay: 0 },
  adam: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
  adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 },
};

export function planOptimizer(optimizer: Optimizer | undefined, site?: string): OptimizerPlan {
  const spec = (optimizer ?? { sgd: {} }) as Record<string, unknown>;
  const keys = typeof spec === 'object' && spec !== null ? Object.keys(spec) : [];
  const kind = keys[0] as Kind;
  if (keys.length === 1 && !kinds.includes(kind)) checkOptions(spec, kinds, 'compile: optimizer', site);
  if (keys.length !== 1 || !kinds.includes(kind)) {
    throw new FlatgradError(`compile: optimizer must be one of { sgd: {} }, { momentum: {…} }, { rmsprop: {…} }, { adam: {…} }, { adamw: {…} }; got ${JSON.stringify(optimizer)}`, site);
  }
  const given = (spec[kind] ?? {}) as Record<string, unknown>;
  const settings: Record<string, number | boolean> = { ...defaults[kind] };
  if (typeof given === 'object' && given !== null && ('lr' in given || 'learningRate' in given)) {
    throw new FlatgradError(`compile: optimizer { ${kind} } takes no learning rate: it is step(feeds, lr)'s argument, so a schedule can change it every step`, site);
  }
  checkOptions(given, Object.keys(settings), `compile: optimizer { ${kind} }`, site);
  for (const [k, v] of Object.entries(given)) {
    const unbounded = k === 'weightDecay' || k === 'eps';
    const ok = typeof settings[k] === 'boolean' ? typeof v === 'boolean' : typeof v === 'number' && Number.isFinite(v) && v >= 0 && (unbounded || v < 1);
    const wanted = typeof settings[k] === 'boolean' ? 'true or false' : unbounded ? 'a finite number ≥ 0' : 'a number in [0, 1)';
    if (!ok) throw new FlatgradError(`compile: ${kind}.${k} must be ${wanted}, got ${JSON.stringify(v)}`, site);
    settings[k] = v as number | boolean;
  }
  const slots = { sgd: [], momentum: ['velocity'], rmsprop: ['cache'], adam: ['m', 'v'], adamw: ['m', 'v'] }[kind];
  return { kind, settings, slots, counter: kind === 'adam' || kind === 'adamw' };
}

/**
 * What the host computes once per step, after counting it in `step_count` (the var), before the update
 * kernels: Adam's bias corrections bc1 = 1 / (1 − β1^t), bc2 = 1 / (1 − β2^t).
 */
export function stepScalars(plan: OptimizerPlan): { name: string; expr: Expr }[] {
  if (!plan.counter) return [];
  const t: Expr = { k: 'var', name: 'step_count' };
  return [
    { name: 'bc1', expr: div(1, sub(1, pow(plan.settings.beta1 as number, t))) },
    { name: 'bc2', expr: div(1, sub(1, pow(plan.settings.beta2 as number, t))) },
  ];
}

/** The buffers of one param's update: the param, its gradient and its optimizer state by slot, `size` floats each. */
export interface UpdateBuffers {
  readonly param: string;
  readonly grad: string;
  readonly slots: Readonly<Record<string, string>>;
  readonly size: number;
}

/**
 * One param's update as a map kernel: the new param is its output `out`, the new moments are outputs `also`, and
 * every expression reads the values from before the step (a renderer shares what two of them compute alike).
 * `names` are the temporaries the TypeScript shows the reader: gi, the gradient (with L2 decay), vprev.
 */
export function updateKernel(plan: OptimizerPlan, b: UpdateBuffers): MapKernel {
  const s = plan.settings;
  const at = (buf: string): Expr => ({ k: 'load', buf, strides: [1] });
  const c = (v: number) => lit(coefficient(v));
  const num = (key: string) => s[key] as number;
  const lr: Expr = { k: 'var', name: 'lr' };
  const p = at(b.param);
  const wd = num('weightDecay');
  const g = wd > 0 && plan.kind !== 'adamw' ? add(at(b.grad), mul(c(wd), p)) : at(b.grad);
  const kernel = (expr: Expr, also: MapKernel['also'] = [], names: MapKernel['names'] = []): MapKernel => ({ kind: 'map', out: b.param, shape: [b.size], expr, also, names });
  switch (plan.kind) {
    case 'sgd': // p −= lr·g
      return kernel(sub(p, mul(lr, g)));
    case 'momentum': { // cs231n: v = μ·v − lr·g; p += v. Nesterov: p += −μ·v_prev + (1 + μ)·v.
      const v = at(b.slots.velocity!);
      const velocity = sub(mul(c(num('beta')), v), mul(lr, g));
      const also = [{ out: b.slots.velocity!, expr: velocity }];
      if (!s.nesterov) return kernel(add(p, velocity), also);
      return kernel(add(p, add(mul(c(-num('beta')), v), mul(c(1 + num('beta')), velocity))), also, [{ name: 'vprev', expr: v }]);
    }
    case 'rmsprop': { // cache = d·cache + (1 − d)·g²; p −= lr·g / (√cache + ε)
      const cache = add(mul(c(num('decay')), at(b.slots.cache!)), mul(mul(c(1 - num('decay')), g), g));
      return kernel(sub(p, div(mul(lr, g), add(sqrt(cache), c(num('eps'))))), [{ out: b.slots.cache!, expr: cache }], [{ name: 'gi', expr: g }]);
    }
    case 'adam':
    case 'adamw': { // m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²; p −= lr·(m·bc1) / (√(v·bc2) + ε) (+ lr·λ·p for AdamW)
      const m = add(mul(c(num('beta1')), at(b.slots.m!)), mul(c(1 - num('beta1')), g));
      const v = add(mul(c(num('beta2')), at(b.slots.v!)), mul(mul(c(1 - num('beta2')), g), g));
      let change = div(mul(lr, mul(m, { k: 'var', name: 'bc1' })), add(sqrt(mul(v, { k: 'var', name: 'bc2' })), c(num('eps'))));
      if (plan.kind === 'adamw' && wd > 0) change = add(change, mul(mul(lr, c(wd)), p));
      return kernel(sub(p, change), [{ out: b.slots.m!, expr: m }, { out: b.slots.v!, expr: v }], [{ name: 'gi', expr: g }]);
    }
  }
}

/** A constant of an update formula as the generated code writes it: 1 − 0.9 is 0.1, not 0.09999999999999998. */
function coefficient(v: number): number {
  return Number(v.toPrecision(12));
}

/** A one-line description for the generated code's comments. */
export function describeOptimizer(plan: OptimizerPlan): string {
  const settings = Object.entries(plan.settings).map(([k, v]) => `${k} ${v}`).join(', ');
  return `${plan.kind} (${settings})`;
}
