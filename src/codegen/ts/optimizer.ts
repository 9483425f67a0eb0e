import { FlatgradError } from '../../graph/errors.ts';
import { literal } from './code.ts';

/**
 * The lecture's optimizers, compiled into step() as one fused loop per param. The learning rate is step()'s
 * argument, so a schedule changes it without recompiling. `weightDecay` adds λ·p to the gradient (L2), except
 * for AdamW, which decays the weights directly (decoupled).
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
  if (keys.length !== 1 || !kinds.includes(kind)) {
    throw new FlatgradError(`compile: optimizer must be one of { sgd: {} }, { momentum: {…} }, { rmsprop: {…} }, { adam: {…} }, { adamw: {…} }; got ${JSON.stringify(optimizer)}`, site);
  }
  const given = (spec[kind] ?? {}) as Record<string, unknown>;
  const settings: Record<string, number | boolean> = { ...defaults[kind] };
  for (const [k, v] of Object.entries(given)) {
    if (!(k in settings)) throw new FlatgradError(`compile: ${kind} has no setting '${k}' (it has ${Object.keys(settings).join(', ')})`, site);
    const unbounded = k === 'weightDecay' || k === 'eps';
    const ok = typeof settings[k] === 'boolean' ? typeof v === 'boolean' : typeof v === 'number' && Number.isFinite(v) && v >= 0 && (unbounded || v < 1);
    if (!ok) throw new FlatgradError(`compile: ${kind}.${k} must be ${typeof settings[k] === 'boolean' ? 'true or false' : unbounded ? 'a finite number ≥ 0' : 'a number in [0, 1)'}, got ${JSON.stringify(v)}`, site);
    settings[k] = v as number | boolean;
  }
  const slots = { sgd: [], momentum: ['velocity'], rmsprop: ['cache'], adam: ['m', 'v'], adamw: ['m', 'v'] }[kind];
  return { kind, settings, slots, counter: kind === 'adam' || kind === 'adamw' };
}

/**
 * One param's update. `at(name)` reads or writes element i of a buffer: the param, `grad`, or a slot.
 * Adam's bias corrections `bc1`, `bc2` are computed once per step, before the loops (see stepPrologue).
 */
export function updateStatements(plan: OptimizerPlan, p: string, grad: string, slot: (s: string) => string): string[] {
  const n = (v: number | boolean) => literal(coefficient(v as number)).text;
  const s = plan.settings;
  const wd = s.weightDecay as number;
  const g = wd > 0 && plan.kind !== 'adamw' ? `(${grad} + ${n(wd)} * ${p})` : grad;
  switch (plan.kind) {
    case 'sgd':
      return [`${p} -= lr * ${g};`];
    case 'momentum': {
      const [v, mu] = [slot('velocity'), n(s.beta!)];
      // cs231n: v = mu·v − lr·dx; x += v. Nesterov: x += −mu·v_prev + (1 + mu)·v.
      if (!s.nesterov) return [`${v} = ${mu} * ${v} - lr * ${g};`, `${p} += ${v};`];
      return [`const vprev = ${v};`, `${v} = ${mu} * ${v} - lr * ${g};`, `${p} += -${mu} * vprev + ${n(1 + (s.beta as number))} * ${v};`];
    }
    case 'rmsprop': {
      const c = slot('cache');
      return [`const gi = ${g};`, `${c} = ${n(s.decay!)} * ${c} + ${n(1 - (s.decay as number))} * gi * gi;`, `${p} -= lr * gi / (Math.sqrt(${c}) + ${n(s.eps!)});`];
    }
    case 'adam':
    case 'adamw': {
      const [m, v] = [slot('m'), slot('v')];
      return [
        `const gi = ${g};`,
        `${m} = ${n(s.beta1!)} * ${m} + ${n(1 - (s.beta1 as number))} * gi;`,
        `${v} = ${n(s.beta2!)} * ${v} + ${n(1 - (s.beta2 as number))} * gi * gi;`,
        `${p} -= lr * (${m} * bc1) / (Math.sqrt(${v} * bc2) + ${n(s.eps!)})${plan.kind === 'adamw' && wd > 0 ? ` + lr * ${n(wd)} * ${p}` : ''};`,
      ];
    }
  }
}

/** A constant of an update formula as the generated code writes it: 1 − 0.9 is 0.1, not 0.09999999999999998. */
export function coefficient(v: number): number {
  return Number(v.toPrecision(12));
}

/** Lines before the per-param loops: Adam counts the step and computes its bias corrections. */
export function stepPrologue(plan: OptimizerPlan): string[] {
  if (!plan.counter) return [];
  const n = (v: number | boolean) => literal(v as number).text;
  return [
    'step_count[0] += 1;',
    `const bc1 = 1 / (1 - Math.pow(${n(plan.settings.beta1!)}, step_count[0]));`,
    `const bc2 = 1 / (1 - Math.pow(${n(plan.settings.beta2!)}, step_count[0]));`,
  ];
}

/** A one-line description for the generated code's comments. */
export function describeOptimizer(plan: OptimizerPlan): string {
  const settings = Object.entries(plan.settings).map(([k, v]) => `${k} ${v}`).join(', ');
  return `${plan.kind} (${settings})`;
}
