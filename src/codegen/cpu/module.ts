// What the CPU hosts share, tensor or scalar: kernel expressions as TypeScript (the TypeScript renderer, over this
// module's names), the comments that say which gate a statement is, the Model type, the forward pass's feeding and
// checks, the optimizer's update, and step()'s guard. tensor.ts and scalar.ts write the createModel of each kind.
import type { Node } from '../../graph/graph.ts';
import type { MapKernel } from '../../ir/kernel.ts';
import type { Leaf, Program } from '../../lower/program.ts';
import { describeOptimizer } from '../../optim/optimizer.ts';
import { expressionText, type GradOf } from '../../passes/bound-graph.ts';
import { commentText, indent, quote } from '../code.ts';
import { braces, entry, ModuleEmitter } from '../host/module.ts';
import { ExprPrinter } from '../typescript/expr.ts';
import type { TypeScriptHost } from './typescript-kernels.ts';

export abstract class CpuModuleEmitter extends ModuleEmitter implements TypeScriptHost {
  protected readonly exported: Set<Node>;
  /** Kernel expressions and elements as TypeScript (the TypeScript renderer), over this module's names. */
  readonly exprs: ExprPrinter;

  constructor(p: Program) {
    super(p);
    this.exported = new Set([...(p.loss ? [p.loss] : []), ...p.grads.values(), ...p.outputs.values()]);
    this.exprs = new ExprPrinter(this, p.scalarMode);
  }

  protected override functionCode(): readonly string[] {
    return this.exprs.functions.code;
  }

  /** The name in the code of the buffer, leaf or scalar holding each value, by the value's name. */
  private holders?: Map<string, string>;

  /** A value as the code has it: what holds it, or (fused away) its expression over what holds its inputs. */
  valueText(n: Node): string {
    return expressionText(n, (t) => this.holder(t));
  }

  /** What a gate computes, over the values it reads: `h · w2`, `sigmoid(s3)`. */
  private gateText(n: Node): string {
    return expressionText(n, (t) => (t === n ? undefined : this.holder(t)));
  }

  /** The identifier of what holds a value in the code, if anything does (a fused value has none). */
  private holder(n: Node): string | undefined {
    const { p } = this;
    this.holders ??= new Map([
      ...[...p.inputs, ...p.params, ...p.state, ...p.aliases, ...p.scalars].map((v) => [v.name, v.name] as const),
      ...p.buffers.flatMap((b) => [[b.name, b.name], [b.node.name, b.name]] as const),
    ]);
    const held = this.holders.get(n.name);
    return held === undefined ? undefined : this.id(held);
  }

  /** A backward step's comment: which gate's chain-rule step it is, over names the code has. */
  gradComment(n: Node): string | undefined {
    const why = (n as { gradOf?: GradOf }).gradOf;
    if (!why) return undefined;
    if ('readers' in why) return commentText(`${this.valueText(why.input)}, read by ${why.readers.length} gates: the copy gate adds what they send back`);
    const gate = this.holders?.has(why.gate.name) || this.valueText(why.gate) !== this.gateText(why.gate) ? `${this.valueText(why.gate)} = ${this.gateText(why.gate)}` : this.gateText(why.gate);
    const how = why.gate.composite ? `: ${why.gate.composite.backprop}` : '';
    return commentText(`${gate}, to ${this.valueText(why.input)}${how}`);
  }

  /** Whether the module runs worker threads (known once factory() has run). */
  protected threaded(): boolean {
    return false;
  }

  protected types(): string[] {
    const { p } = this;
    const record = (keys: Iterable<string>) => braces([...keys].map((k) => `readonly ${k}: ${this.floatArray}`).join('; '));
    const stateKeys = [...p.state.map((l) => l.key), ...(p.spec.optimizer.counter ? ['step_count'] : [])];
    const update = this.plainSgd() ? 'plain SGD on every param: p -= lr * grad_p' : `the optimizer's update of every param (${p.spec.optimizer.kind})`;
    const refused = p.spec.guardStep && p.loss ? ' Changes nothing, and throws, when the loss or a gradient is not finite.' : '';
    return [
      ...this.feedsType(),
      '',
      'export interface Model {',
      `  readonly params: ${record(p.params.map((l) => l.key))};`,
      `  readonly grads: ${record(p.grads.keys())};`,
      `  readonly state: ${braces(stateKeys.map((k) => `readonly ${k}: ${k === 'step_count' ? 'Float64Array' : this.floatArray}`).join('; '))};`,
      '  readonly shapes: { readonly [name: string]: readonly number[] };',
      `  readonly outputs: ${record(p.outputs.keys())};`,
      "  /** What forward is fed: each input's name, bound shape, the dim its first axis was declared with ('N', the batch; '' for none) and whether it holds integers. */",
      '  readonly inputs: readonly { readonly name: string; readonly shape: readonly number[]; readonly batch: string; readonly integer: boolean }[];',
      p.loss ? '  /** Runs the forward pass and returns the loss. */' : '  /** Runs the forward pass; read the results from outputs. */',
      `  forward(feeds: Feeds): ${p.loss ? 'number' : 'void'};`,
      '  /** Fills grads from the values of the last forward pass (an error before any). */',
      '  backward(): void;',
      "  /** What runs the matmuls, large loops and the update: 'wasm-relaxed-simd', 'wasm-simd' or 'typescript'. */",
      '  readonly kernels: string;',
      ...(this.threaded() ? [
        '  /** The worker threads beside the calling one (none where threads cannot be had). */',
        '  readonly workers: readonly { terminate(): unknown }[];',
        '  /** Resolves once the workers have started (in a browser, only after this thread yields); until then this thread does their shares. */',
        '  ready(): Promise<void>;',
        '  /** Ends the worker threads: the model runs on the calling thread from then on. */',
        '  dispose(): void;',
      ] : [
        '  /** The worker threads beside the calling one: none, this module runs on the calling thread. */',
        '  readonly workers: readonly { terminate(): unknown }[];',
        '  /** Resolved: there are no workers to wait for. */',
        '  ready(): Promise<void>;',
        '  /** Nothing to end: no worker threads. */',
        '  dispose(): void;',
      ]),
      `  /** forward, backward, then ${update}.${p.loss ? ' Returns the loss.' : ''}${refused} */`,
      `  step(feeds: Feeds, lr: number): ${p.loss ? 'number' : 'void'};`,
      '}',
    ];
  }

  /**
   * createModel's return: params, grads, outputs and state behind model_buffers (assigning one throws), and
   * workers, ready and dispose on every model (with nothing to do where there are no threads).
   */
  protected returned(parts: { params: string; grads: string; outputs: string; state: string; rest: string; threads?: string }): string[] {
    this.use('model_buffers');
    const buffers = (['params', 'grads', 'outputs', 'state'] as const).map((k) => `${k}: model_buffers('${k}', ${parts[k]}),`);
    return ['return {', ...indent([...buffers, `${parts.rest},`, `${parts.threads ?? 'workers: [], ready: () => Promise.resolve(), dispose: () => {}'},`]), '};'];
  }

  /**
   * The optimizer's update of every differentiated param: `head`, its description and the step's scalars (Adam
   * counts the step and computes its bias corrections), and `loops`, each param's update kernel as `render`
   * writes it.
   */
  protected update(render: (k: MapKernel) => string[]): { head: string[]; loops: string[] } {
    const { p } = this;
    return this.exprs.withHostVars(() => {
      const loops = p.update.kernels.flatMap(({ kernel }) => render(kernel));
      if (loops.length === 0 || this.plainSgd()) return { head: [], loops };
      const scalars = p.update.scalars.map((s) => `const ${s.name} = ${this.exprs.expr(s.expr).text};`);
      return { head: [`// ${describeOptimizer(p.spec.optimizer)}`, ...(p.spec.optimizer.counter ? ['step_count[0]! += 1;'] : []), ...scalars], loops };
    });
  }

  protected counter(): string[] {
    return this.p.spec.optimizer.counter ? ['const step_count = new Float64Array(1); // the optimizer\'s step count'] : [];
  }

  /** The state object's entries: `key: identifier`. */
  protected stateEntries(): string[] {
    return [...this.p.state.map((l) => entry(l.key, this.id(l.name))), ...(this.p.spec.optimizer.counter ? ['step_count'] : [])];
  }

  /**
   * The start of forward: check every feed, then copy them (`target` writes a number feed), and with checkFinite
   * check the inputs and params.
   */
  protected feeding(target: (l: Leaf) => string): string[] {
    const { p } = this;
    this.use('check_feeds');
    this.use('check_rate');
    const copy = (l: Leaf) => (p.scalarMode || l.shape.length === 0 ? `${target(l)}feeds.${l.key};` : (this.use('copy_feed'), `copy_feed(${this.id(l.name)}, feeds.${l.key});`));
    const finite = p.spec.checkFinite && !p.scalarMode
      ? [...p.inputs.map((l) => [l, 'feed'] as const), ...p.params.map((l) => [l, 'param'] as const)]
        .filter(([l]) => l.dtype === 'float').map(([l, what]) => this.finiteLine(l.name, `the ${what} '${l.key}'`))
      : [];
    return ['check_feeds(feeds, FEEDS); // every feed is checked before any is copied: a bad one changes nothing', ...p.inputs.map(copy), ...finite];
  }

  /** `buffer`: where the node's value is (a matmul writes into its epilogue's buffer). */
  protected checkFinite(node: Node, buffer = node.name): string[] {
    return this.p.spec.checkFinite ? [this.finiteLine(buffer, `${node.op} at ${node.site}`)] : [];
  }

  protected finiteLine(name: string, made: string): string {
    this.use('check_finite');
    return `check_finite(${this.id(name)}, '${name}', ${quote(made)});`;
  }

  /**
   * check_step(), what step() calls before the update when `finite` (the loss and every gradient are finite) is
   * false: the update would make params NaN, so refuse_step names the first non-finite feed, param, loss or
   * gradient, and nothing changes. None without a loss or gradients.
   */
  protected guard(read: (l: Leaf) => string, loss: string): string[] {
    const { p } = this;
    const updated = this.updated();
    if (!p.spec.guardStep || !p.loss || updated.length === 0) return [];
    this.use('refuse_step');
    const values = [
      ...p.inputs.filter((l) => l.dtype === 'float').map((l) => [read(l), l.key, `the feed '${l.key}'`]),
      ...p.params.map((l) => [read(l), l.key, `the param '${l.key}'`]),
      [loss, p.loss.name, `the loss '${p.loss.name}' (${p.loss.op} at ${p.loss.site})`],
      ...updated.map((l) => [this.gradValue(l.key, p.grads.get(l.key)!), p.grads.get(l.key)!.name, `the gradient of '${l.key}'`]),
    ];
    const list = (column: number, quoted: boolean) => `[${values.map((v) => (quoted ? quote(v[column]!) : v[column])).join(', ')}]`;
    return [
      '/** Before the update, a non-finite loss or gradient, which would make the params NaN: change nothing and say where. */',
      'function check_step(): never {',
      ...indent([`refuse_step(${list(0, false)},`, `  ${list(1, true)},`, `  ${list(2, true)});`]),
      '}',
      '',
    ];
  }

  /** The params step() updates: those with a gradient. */
  protected updated(): Leaf[] {
    return this.p.params.filter((l) => this.p.grads.has(l.key));
  }

  /** backward() for the user: only after a forward pass that completed. */
  protected publicBackward(): string[] {
    this.use('flatgrad_error');
    return [
      'function backward(): void {',
      ...indent([
        "if (!forward_done) throw flatgrad_error('backward() needs the values of a forward pass: call forward(feeds) first (a forward that threw leaves none)');",
        'backward_pass();',
      ]),
      '}',
      '',
    ];
  }

  /** A gradient's values, as refuse_step reads them. */
  protected abstract gradValue(key: string, g: Node): string;

  protected scalars(backward: boolean): string[] {
    return this.p.scalars.filter((s) => s.backward === backward).map((s) => `const ${this.id(s.name)} = ${this.exprs.expr(s.expr).text};`);
  }
}
