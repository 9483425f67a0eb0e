// The createModel factory of a scalar module: straight-line code over plain numbers, the lecture's flat
// backprop statement for statement (s0 = w0 * x0; … const grad_s3 = grad_L * (1 - L) * L;).
import { loads, type MapKernel, type ReduceKernel } from '../../ir/kernel.ts';
import { MAX_FUSED_DEPTH } from '../../lower/fusion.ts';
import type { Leaf, Step } from '../../lower/program.ts';
import { binary, indent, literal } from '../code.ts';
import { braces } from '../host/module.ts';
import { CpuModuleEmitter } from './module.ts';

export class ScalarEmitter extends CpuModuleEmitter {
  protected gradValue(key: string): string {
    return `grads.${key}`;
  }

  protected factory(): string[] {
    const { p } = this;
    const uses = new Map<string, number>();
    for (const s of [...p.forward, ...p.backward]) {
      const k = s.kernel;
      for (const l of loads(k.kind === 'map' || k.kind === 'reduce' ? k.expr : { k: 'lit', value: 0 })) uses.set(l.buf, (uses.get(l.buf) ?? 0) + 1);
    }
    // How deep the inlined temporaries nest: past MAX_FUSED_DEPTH one is written out, so no expression is deeper.
    const depth = new Map<string, number>();
    const line = (s: Step, decl: string) => {
      const k = s.kernel as MapKernel | ReduceKernel;
      // A sum of one number is still a sum from 0, as in the tensor loops: 0 + −0 is +0.
      const value = k.kind === 'reduce' && k.op === 'sum' ? binary('+', literal(0), this.exprs.expr(k.expr)) : this.exprs.expr(k.expr);
      const code = k.kind === 'reduce' && k.scale !== 1 ? binary('*', value, literal(k.scale)) : value;
      const d = 1 + Math.max(0, ...loads(k.expr).map((l) => depth.get(l.buf) ?? 0));
      if (s.node.phase === 'backward' && s.node.autoNamed && !this.exported.has(s.node) && uses.get(k.out) === 1 && !p.spec.checkFinite && d < MAX_FUSED_DEPTH) {
        this.exprs.inlined.set(k.out, code);
        depth.set(k.out, d);
        return [];
      }
      const why = this.gradComment(s.node);
      return [`${decl}${this.id(k.out)} = ${code.text};${why ? ` // grad of: ${why}` : ''}`, ...this.checkFinite(s.node)];
    };
    const forwardValues = new Set(p.forward.map((s) => s.node.name));
    const forward = p.forward.flatMap((s) => line(s, ''));
    const backward = p.backward.flatMap((s) => line(s, forwardValues.has(s.node.name) ? '' : 'const '));
    const inits = p.params.flatMap((l) => this.initParam(l, `params.${l.key}`));
    const exportedNames = new Set([...this.exported].map((t) => t.name));
    const read = (l: Leaf) => uses.has(l.name) || exportedNames.has(l.name);
    const leaves = [...p.params, ...p.inputs].filter(read).map((l) => l.name);
    const arr = (n: string) => `${n}: new ${this.floatArray}(1)`;
    const loss = p.loss && this.id(p.loss.name);
    // The update reads and writes the objects' elements: params.w[0], grads.w[0], state.m_w[0].
    const element = new Map<string, string>();
    for (const { param: l } of p.update.kernels) element.set(l.name, `params.${l.key}[0]`).set(p.grads.get(l.key)!.name, `grads.${l.key}[0]`);
    for (const l of p.state) element.set(l.name, `state.${l.key}[0]`);
    const at = (buf: string) => element.get(buf)!;
    const update = this.update((k) => {
      const body = this.exprs.elementStatements(k, 'single', at, true);
      return body.length === 1 ? body : ['{', ...indent(body), '}'];
    });
    const finite = [...(loss ? [loss] : []), ...this.updated().map((l) => `grads.${l.key}[0]`)].map((v) => `Number.isFinite(${v})`).join(' && ');
    const checkStep = loss ? this.guard((l) => (p.inputs.includes(l) ? `[${this.id(l.name)}]` : `params.${l.key}`), `[${loss}]`) : [];
    return [
      // simd and threads are every CPU module's options: this one has no Wasm kernels or threads for them to change.
      'export function createModel(options: { seed?: number; simd?: boolean; threads?: number } = {}): Model {',
      ...indent([
        this.checkOptions(['seed', 'simd', 'threads']),
        `const params = ${braces(p.params.map((l) => arr(l.key)).join(', '))};`,
        `const grads = ${braces([...p.grads.keys()].map(arr).join(', '))};`,
        `const outputs = ${braces([...p.outputs.keys()].map(arr).join(', '))};`,
        ...this.counter(),
        `const state = ${braces([...p.state.map((l) => arr(l.key)), ...(p.spec.optimizer.counter ? ['step_count'] : [])].join(', '))};`,
        ...this.rngLine(inits),
        ...[...leaves, ...forwardValues].map((n) => `let ${this.id(n)} = 0;`),
        ...this.scalars(false),
        ...this.feedSpecs(),
        'let forward_done = false; // backward() needs the values of a whole forward pass',
        '',
        'function forward_pass(feeds: Feeds): void {',
        ...indent([
          'forward_done = false;',
          ...this.feeding((l) => (read(l) ? `${this.id(l.name)} = ` : '')),
          ...p.params.filter(read).flatMap((l) => [`${this.id(l.name)} = params.${l.key}[0]!;`, ...(p.spec.checkFinite ? [this.finiteLine(l.name, `the param '${l.key}'`)] : [])]),
          ...(p.spec.checkFinite ? p.inputs.filter(read).map((l) => this.finiteLine(l.name, `the feed '${l.key}'`)) : []),
          ...forward,
          ...[...p.outputs].map(([k, t]) => `outputs.${k}[0] = ${this.id(t.name)};`),
          'forward_done = true;',
        ]),
        '}',
        '',
        `function forward(feeds: Feeds): ${loss ? 'number' : 'void'} {`,
        ...indent(['forward_pass(feeds);', ...(loss ? [`return ${loss};`] : [])]),
        '}',
        '',
        'function backward_pass(): void {',
        ...indent([...this.scalars(true), ...backward, ...[...p.grads].map(([k, t]) => `grads.${k}[0] = ${this.id(t.name)};`)]),
        '}',
        '',
        ...this.publicBackward(),
        ...checkStep,
        `function step(feeds: Feeds, lr: number): ${loss ? 'number' : 'void'} {`,
        ...indent([
          'if (!Number.isFinite(lr) || lr < 0) check_rate(lr);',
          'forward_pass(feeds);',
          'backward_pass();',
          ...(checkStep.length ? [`if (!(${finite})) check_step();`] : []),
          ...update.head,
          ...update.loops,
          ...(loss ? [`return ${loss};`] : []),
        ]),
        '}',
        '',
        ...this.returned({ params: 'params', grads: 'grads', outputs: 'outputs', state: 'state', rest: `shapes: ${this.shapes()}, inputs: FEEDS, kernels: 'typescript', forward, backward, step` }),
      ]),
      '}',
    ];
  }
}
