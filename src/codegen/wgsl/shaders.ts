// The WGSL renderer: a lowered program's kernels as one WGSL module, an entry point per kernel, named as the
// TypeScript names its kernels (loop_h, gemm_64x1000x100, update_w1), each with a comment naming the gates it
// fuses. Every buffer is a module-scope storage binding named as the value is; the host (src/codegen/webgpu/)
// binds them, dispatches the entry points in order and reads back what is asked.
//
//   map      one invocation per element (64 a workgroup); several outputs (an optimizer's update) computed
//            before any is stored, as the IR says
//   reduce   one workgroup of 64 per output element, its invocations striding over the reduced elements, then a
//            tree in workgroup memory; a reduction of fewer than 64 elements is a loop in one invocation
//   matmul   16 × 16 tiles of A and B in workgroup memory, either operand read transposed, the bias and ReLU
//            applied as C is stored; each shape is one entry point, its operands bound in group 1
//   conv     a one-group conv and its two gradients as implicit GEMMs in the matmul's 16 × 16 tiles, each tile
//            gathered from the conv's tensors under bounds (wgsl/windows.ts); a grouped one, one invocation per
//            element written, gathering its window
//   pool     one invocation per element written: a window's maximum or mean, or a gradient gathered from the
//            windows that reach the element
//   guard    step()'s check that the loss and every gradient are finite: the first that is not, by number,
//            kept with atomicMin, and the update kernels do nothing when one was found
import { isLeaf, type Node, type Phase } from '../../graph/node.ts';
import { exprKey, type Expr, type Fn } from '../../ir/expr.ts';
import { isFlat, matmulName, unrendered, outputsOf, type ConvKernel, type Kernel, type Load, type MapKernel, type MatmulKernel, type PoolKernel, type ReduceKernel } from '../../ir/kernel.ts';
import type { Program } from '../../lower/program.ts';
import { stridesOf, sizeOf } from '../../shape/shape.ts';
import { atom, call, functionText, NamedFunctions, straightLine, type Code } from '../code.ts';
import { Identifiers } from '../identifiers.ts';
import { helperCode, literal, renderAlu, wgslTable } from './alu.ts';
import { convBody, convTiles, poolBody } from './windows.ts';

/** Invocations per workgroup of a map or reduction. */
export const WORKGROUP = 64;
/** A small matmul's tile: TILE × TILE outputs per workgroup, one per invocation, K in steps of TILE. */
const TILE = 16;
/** A large matmul's tile: BLOCK × BLOCK outputs per workgroup of 16 × 16, 4 × 4 per invocation, K in steps of 16. */
const BLOCK = 64;
/** A matmul of at least this many BLOCK tiles takes them (fewer would leave a GPU's cores idle). */
const MIN_BLOCKS = 8;
/** The guard's value while every checked buffer is finite. */
export const NONE = 0xffffffff;

/** When a kernel runs: in a graph phase, or in the optimizer's update after both. */
export type KernelPhase = Phase | 'update';

export interface WgslKernel {
  readonly entry: string;
  /** The group-0 bindings the entry point uses. */
  readonly bindings: readonly number[];
  /** A matmul's operands, bound in group 1 (a, b, c, then bias). */
  readonly operands?: readonly string[];
  /** How many workgroups: the host lays them out as x · y, each at most 65,535. */
  readonly workgroups: number;
  readonly phase: KernelPhase;
}

export interface WgslBuffer {
  /** The program's name of the value (aliases resolved). */
  readonly name: string;
  /** Its identifier in the shaders. */
  readonly id: string;
  readonly binding: number;
  readonly type: 'f32' | 'i32';
  readonly size: number;
}

export interface WgslModule {
  readonly code: string;
  readonly buffers: readonly WgslBuffer[];
  readonly kernels: readonly WgslKernel[];
  /** Bindings of the host's own buffers: the uniforms (lr), the guard, the optimizer's step count and bias corrections. */
  readonly uniforms?: number;
  readonly guard?: number;
  readonly stepState?: number;
  /** What the guard checks, in order: the index the guard keeps names one of these (a feed, param, the loss, a gradient). */
  readonly checked: readonly string[];
}

/** WGSL's keywords and reserved words, its types, the built-in functions the shaders call, and the shaders' own names. */
const RESERVED = new Set([
  ...'alias break case const const_assert continue continuing default diagnostic discard else enable false fn for if let loop override requires return struct switch true var while'.split(' '),
  ...[
    'NULL Self abstract active alignas alignof as asm asm_fragment async attribute auto await become binding_array cast catch class co_await co_return',
    'co_yield coherent column_major common compile compile_fragment concept const_cast consteval constexpr constinit crate debugger decltype delete demote',
    'demote_to_helper do dynamic_cast enum explicit export extends extern external fallthrough filter final finally friend from fxgroup get goto',
    'groupshared highp impl implements import inline instanceof interface layout lowp macro macro_rules match mediump meta mod module move mut mutable',
    'namespace new nil noexcept noinline nointerpolation noperspective null nullptr of operator package packoffset partition pass patch pixelfragment',
    'precise precision premerge priv protected pub public readonly ref regardless register reinterpret_cast require resource restrict self set shared',
    'sizeof smooth snorm static static_assert static_cast std subroutine super target template this thread_local throw trait try type typedef typeid',
    'typename typeof union unless unorm unsafe unsized use using varying virtual volatile wgsl where with writeonly yield',
  ].join(' ').split(' '),
  ...'i32 u32 f32 f16 bool vec2 vec3 vec4 vec2f vec3f vec4f vec3u mat2x2 array atomic ptr sampler read read_write storage uniform workgroup function private'.split(' '),
  ...'abs exp exp2 log log2 sqrt select bitcast floor max min pow atomicMin atomicLoad atomicStore atomicAdd workgroupBarrier'.split(' '),
  ...[
    'i o r s k k0 gid lid wid nwg acc row col u guard step_state fg_acc gemm_ta gemm_tb gemm_sa gemm_sb li l e ob oa b row0 col0 acc0 acc1 acc2 acc3 kk',
    'tile gemm_a gemm_b gemm_c gemm_bias Uniforms',
  ].join(' ').split(' '),
]);
const reserved = (n: string) => RESERVED.has(n) || n.startsWith('__') || n.startsWith('fg_') || /^[it]\d+$/.test(n);

/** The program as one WGSL module: its buffers, its kernels in order (forward, backward, guard, update). */
export function wgslModule(p: Program): WgslModule {
  return new WgslEmitter(p).module();
}

class WgslEmitter {
  private readonly ids: Identifiers;
  private readonly alias = new Map<string, string>();
  private readonly types = new Map<string, { type: 'f32' | 'i32'; size: number }>();
  private readonly bindings = new Map<string, WgslBuffer>();
  private readonly helpers = new Set<string>();
  private readonly table = wgslTable((h) => this.helpers.add(h));
  private readonly functions = new NamedFunctions((base) => this.ids.fresh(base), (f, id) => this.functionCode(f, id));
  private readonly entries: string[] = [];
  private readonly kernels: WgslKernel[] = [];
  private readonly scalars = new Set<string>();
  private readonly gemmShapes = new Map<string, string>();
  /** How many of them take BLOCK tiles. */
  private blocked = 0;
  /** Whether a conv runs as an implicit GEMM in TILE tiles (gemm_ta and gemm_tb). */
  private convTiles = false;
  /** Bindings of the kernel being written. */
  private used = new Set<number>();
  private uniforms?: number;
  private guardBinding?: number;
  private stepBinding?: number;
  /** While the update is written: its vars are the host's (lr in the uniforms, bc1 and bc2 in the step state). */
  private hostVars = false;

  constructor(private readonly p: Program) {
    const values = [...p.inputs, ...p.params, ...p.state, ...p.buffers, ...p.aliases, ...p.scalars].map((v) => v.name);
    this.ids = new Identifiers(values, reserved, (n) => (n.startsWith('__') ? `v${n}` : `${n}_`));
    for (const a of p.aliases) this.alias.set(a.name, a.of);
    for (const l of [...p.inputs, ...p.params, ...p.state]) this.types.set(l.name, { type: l.dtype === 'i32' ? 'i32' : 'f32', size: l.size });
    for (const b of p.buffers) this.types.set(b.name, { type: b.node.dtype === 'i32' ? 'i32' : 'f32', size: b.size });
    for (const s of p.scalars) this.scalars.add(s.name);
  }

  module(): WgslModule {
    const { p } = this;
    for (const s of p.forward) this.kernel(s.kernel, 'forward', s.node);
    for (const s of p.backward) this.kernel(s.kernel, 'backward', s.node);
    const checked = this.guard();
    this.update();
    const declarations = [...this.bindings.values()].map((b) => `@group(0) @binding(${b.binding}) var<storage, read_write> ${b.id}: array<${b.type}>; // ${this.describe(b.name)}`);
    const host = [
      ...(this.uniforms !== undefined ? ['struct Uniforms { lr: f32 }', `@group(0) @binding(${this.uniforms}) var<uniform> u: Uniforms; // step()'s learning rate`] : []),
      ...(this.guardBinding !== undefined ? [
        `@group(0) @binding(${this.guardBinding}) var<storage, read_write> guard: array<atomic<u32>>; `
          + `// [the first non-finite of the checked, by number, or 0x${NONE.toString(16)}; steps refused; the first refused step's]`,
      ] : []),
      ...(this.stepBinding !== undefined ? [`@group(0) @binding(${this.stepBinding}) var<storage, read_write> step_state: array<f32>; // [the optimizer's step count, bc1, bc2]`] : []),
    ];
    const consts = p.scalars.map((s) => `const ${this.id(s.name)}: f32 = ${this.expr(s.expr, () => atom('0u')).text};`);
    const workgroupVars = [
      ...(this.entries.some((e) => e.includes('fg_acc[')) ? [`var<workgroup> fg_acc: array<f32, ${WORKGROUP}>;`] : []),
      ...(this.blocked ? [`var<workgroup> gemm_sa: array<f32, ${16 * BLOCK}>;`, `var<workgroup> gemm_sb: array<f32, ${16 * BLOCK}>;`] : []),
      ...(this.gemmShapes.size > this.blocked || this.convTiles ? [`var<workgroup> gemm_ta: array<f32, ${TILE * TILE}>;`, `var<workgroup> gemm_tb: array<f32, ${TILE * TILE}>;`] : []),
      ...(this.gemmShapes.size ? [
        '@group(1) @binding(0) var<storage, read> gemm_a: array<f32>;', '@group(1) @binding(1) var<storage, read> gemm_b: array<f32>;',
        '@group(1) @binding(2) var<storage, read_write> gemm_c: array<f32>;', '@group(1) @binding(3) var<storage, read> gemm_bias: array<f32>;'] : []),
    ];
    const code = [
      ...declarations, ...host, ...consts, ...workgroupVars, '',
      ...helperCode(this.helpers).flatMap((h) => [h, '']),
      ...this.functions.code.flatMap((f) => [f, '']),
      ...this.entries.flatMap((e) => [e, '']),
    ].join('\n');
    return { code, buffers: [...this.bindings.values()], kernels: this.kernels, uniforms: this.uniforms, guard: this.guardBinding, stepState: this.stepBinding, checked };
  }

  private id(name: string): string {
    return this.ids.id(name);
  }

  private descriptions?: Map<string, string>;
  private describe(name: string): string {
    const { p } = this;
    if (!this.descriptions) {
      const shape = (s: readonly unknown[]) => `[${s.join(', ')}]`;
      this.descriptions = new Map([
        ...p.inputs.map((l) => [l.name, `input ${shape(l.shape)}`] as const),
        ...p.params.map((l) => [l.name, `param ${shape(l.shape)}`] as const),
        ...p.state.map((l) => [l.name, `${p.spec.optimizer.kind} state ${shape(l.shape)}`] as const),
        ...p.buffers.map((b) => [b.name, shape(b.node.shape)] as const),
      ]);
    }
    return this.descriptions.get(name) ?? '';
  }

  private resolve(name: string): string {
    while (this.alias.has(name)) name = this.alias.get(name)!;
    return name;
  }

  /** The binding of a program buffer (declared on first use), counted as used by the kernel being written. */
  private buffer(name: string): WgslBuffer {
    const real = this.resolve(name);
    let b = this.bindings.get(real);
    if (!b) {
      const t = this.types.get(real)!;
      b = { name: real, id: this.id(real), binding: this.bindings.size + 3, type: t.type, size: t.size };
      this.bindings.set(real, b);
    }
    this.used.add(b.binding);
    return b;
  }

  private begin(): void {
    this.used = new Set();
  }

  private push(entry: string, phase: KernelPhase, workgroups: number, code: string[], operands?: string[]): void {
    this.entries.push(code.join('\n'));
    this.kernels.push({ entry, bindings: [...this.used].sort((a, b) => a - b), workgroups: Math.max(1, workgroups), phase, ...(operands ? { operands } : {}) });
  }

  private kernel(k: Kernel, phase: KernelPhase, node?: Node): void {
    this.begin();
    switch (k.kind) {
      case 'map':
        return this.map(k, phase, node);
      case 'reduce':
        return this.reduce(k, node!);
      case 'matmul':
        return this.matmul(k, phase);
      case 'conv':
      case 'pool':
        return this.window(k, phase, node!);
      default:
        return unrendered(k, 'WGSL');
    }
  }

  /** `/** loop_h: h = sigmoid(h · w) … *\/`: the node's op and the gates fused into its loop. */
  private comment(entry: string, node: Node | undefined, k: MapKernel | ReduceKernel): string {
    if (!node) return `/** ${entry}: the ${this.p.spec.optimizer.kind} update of ${k.out} */`;
    const stored = new Set([...this.types.keys(), ...this.alias.keys()]);
    const gates: string[] = [];
    const todo = [...node.inputs];
    const seen = new Set<Node>();
    for (let n = todo.pop(); n; n = todo.pop()) {
      if (seen.has(n) || stored.has(n.name) || isLeaf(n)) continue;
      seen.add(n);
      gates.push(n.op);
      todo.push(...n.inputs);
    }
    const fused = gates.length ? `; fuses ${[...new Set(gates.reverse())].join(', ')}` : '';
    return `/** ${entry}: ${this.id(node.name)} = ${node.op}(${node.inputs.map((i) => this.id(i.name)).join(', ')})${fused} */`;
  }

  // ---- expressions -------------------------------------------------------------------------------------------

  /** An expression as WGSL; `index(axis)` is the loop index along an axis (a u32). Loads declare their buffers. */
  private expr(e: Expr, index: (axis: number) => Code, named?: ReadonlyMap<string, Code>): Code {
    const render = (x: Expr): Code => {
      const n = named?.get(exprKey(x));
      if (n) return n;
      switch (x.k) {
        case 'lit':
          return literal(x.value, (h) => this.helpers.add(h));
        case 'var':
          return atom(this.varCode(x.name));
        case 'index':
          return call('f32', index(x.axis));
        case 'load': {
          const b = this.buffer(x.buf);
          const at = `${b.id}[${this.offset(x, index, named)}]`;
          return atom(b.type === 'i32' ? `f32(${at})` : at);
        }
        case 'guard': {
          const conds = x.ranges.flatMap(({ axis, lo, hi }) => [...(lo > 0 ? [`${index(axis).text} >= ${lo}u`] : []), `${index(axis).text} < ${hi}u`]);
          return call('select', render(x.otherwise), render(x.then), atom(conds.join(' && ')));
        }
        case 'alu':
          return renderAlu(x, render, this.table);
        case 'call':
          return call(this.functions.id(x.fn), ...x.args.map(render));
        case 'arg':
          throw new Error('internal: an argument outside a function body');
      }
    };
    return render(e);
  }

  private varCode(name: string): string {
    if (!this.hostVars || this.scalars.has(name)) return this.id(name);
    if (name === 'lr') return (this.used.add(this.uniforms!), 'u.lr');
    const slot = ['step_count', 'bc1', 'bc2'].indexOf(name);
    if (slot < 0) throw new Error(`internal: no host value '${name}' in WGSL`);
    this.used.add(this.stepBinding!);
    return `step_state[${slot}]`;
  }

  /** A load's element: Σ index·stride + offset + Σ u32(indirect)·stride, as u32 (wrapping is fine: guards choose). */
  private offset(l: Load, index: (axis: number) => Code, named?: ReadonlyMap<string, Code>): string {
    const terms: string[] = [];
    for (const [d, s] of l.strides.entries()) if (s !== 0) terms.push(s === 1 ? index(d).text : `${index(d).text} * ${s}u`);
    for (const t of l.indirect ?? []) {
      const ints = t.expr.k === 'load' && this.types.get(this.resolve(t.expr.buf))?.type === 'i32' ? t.expr : undefined;
      const v = ints ? `u32(${this.buffer(ints.buf).id}[${this.offset(ints, index, named)}])` : `u32(${this.expr(t.expr, index, named).text})`;
      terms.push(t.stride === 1 ? v : `${v} * ${t.stride}u`);
    }
    if (l.offset) terms.push(l.offset > 0 ? `${l.offset}u` : `${2 ** 32 + l.offset}u`);
    return terms.join(' + ') || '0u';
  }

  /** A named function of the IR (sigmoid, a custom op) as a WGSL function, written once. */
  private functionCode(f: Fn, id: string): string {
    const signature = (params: readonly string[]) => `fn ${id}(${params.map((p) => `${p}: f32`).join(', ')}) -> f32 {`;
    return functionText(f, signature, (e) => this.expr(e, () => atom('0u')), (e, render) => this.op(e, render), (name, code) => `let ${name} = ${code.text};`);
  }
  /**
   * The roots computed as straight-line WGSL, a subexpression used more than once bound to `let tN` first.
   * `leaf` renders what is not an ALU op or call (a load, an argument).
   */
  private statements(roots: readonly Expr[], leaf: (e: Expr) => Code): { lines: string[]; result: Code[] } {
    return straightLine(roots, leaf, (e, render) => this.op(e, render), (name, code) => `let ${name} = ${code.text};`);
  }

  /** An ALU op or a call of a named function, over `render`'s arguments. */
  private op(e: Extract<Expr, { k: 'alu' | 'call' }>, render: (e: Expr) => Code): Code {
    return e.k === 'alu' ? renderAlu(e, render, this.table) : call(this.functions.id(e.fn), ...e.args.map(render));
  }

  // ---- kernels -----------------------------------------------------------------------------------------------

  /** The per-axis indices of flat index `i` over `shape`, as `let` lines. */
  private axes(shape: readonly number[], flat: string, names: (d: number) => string): string[] {
    const strides = stridesOf(shape);
    return shape.map((n, d) => {
      const q = strides[d] === 1 ? flat : `${flat} / ${strides[d]}u`;
      return `let ${names(d)} = ${d === 0 ? q : `(${q}) % ${n}u`};`;
    });
  }

  private map(k: MapKernel, phase: KernelPhase, node?: Node): void {
    const entry = this.ids.fresh(`${node ? 'loop' : 'update'}_${this.id(k.out)}`);
    const size = sizeOf(k.shape);
    const outputs = outputsOf(k);
    const flat = isFlat(k);
    const index = flat ? () => atom('i') : (d: number) => atom(`i${d}`);
    const loadIndex = (l: Load) => (flat ? (l.strides.some((s) => s !== 0) ? 'i' : '0u') : this.offset(l, index));
    // A buffer stored before the last output (Nesterov's velocity) is read into a `let` before any store.
    const storedEarly = new Set(outputs.slice(0, -1).map((o) => o.out));
    const early = new Map<string, [string, string]>();
    const leaf = (e: Expr): Code => {
      if (e.k === 'load') {
        const b = this.buffer(e.buf);
        const at = `${b.id}[${loadIndex(e)}]`;
        const value = b.type === 'i32' ? `f32(${at})` : at;
        if (!storedEarly.has(e.buf)) return atom(value);
        const key = exprKey(e);
        if (!early.has(key)) early.set(key, [this.ids.fresh(`${b.id}_old`), value]);
        return atom(early.get(key)![0]);
      }
      return this.expr(e, index);
    };
    const { lines, result } = this.statements(outputs.map((o) => o.expr), leaf);
    lines.unshift(...[...early.values()].map(([name, value]) => `let ${name} = ${value};`));
    const stores = outputs.map((o, j) => {
      const b = this.buffer(o.out);
      return `${b.id}[i] = ${b.type === 'i32' ? `i32(${result[j]!.text})` : result[j]!.text};`;
    });
    const guarded = phase === 'update' && this.guardBinding !== undefined ? [`if (atomicLoad(&guard[0]) != 0x${NONE.toString(16)}u) { return; }`] : [];
    if (guarded.length) this.used.add(this.guardBinding!);
    const body = [
      ...guarded,
      `let i = (wid.x + wid.y * nwg.x) * ${WORKGROUP}u + lid;`,
      `if (i >= ${size}u) { return; }`,
      ...(flat ? [] : this.axes(k.shape, 'i', (d) => `i${d}`)),
      ...lines,
      ...stores,
    ];
    this.push(entry, phase, Math.ceil(size / WORKGROUP), [
      this.comment(entry, node, k),
      `@compute @workgroup_size(${WORKGROUP})`,
      `fn ${entry}(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {`,
      ...body.map((l) => `  ${l}`),
      '}',
    ]);
  }

  private reduce(k: ReduceKernel, node: Node): void {
    const entry = this.ids.fresh(`${k.op}_${this.id(k.out)}`);
    const kept = k.shape.map((_, d) => d).filter((d) => !k.axes.includes(d));
    const outs = kept.reduce((a, d) => a * k.shape[d]!, 1);
    const reduced = k.axes.reduce((a, d) => a * k.shape[d]!, 1);
    const index = (d: number) => atom(`i${d}`);
    const { lines, result } = this.statements([k.expr], (e) => this.expr(e, index));
    const combine = (a: string, b: string) => (k.op === 'sum' ? `${a} + ${b}` : (this.helpers.add(`fg_${k.op}`), `fg_${k.op}(${a}, ${b})`));
    const init = { sum: '0.0', max: literal(-Infinity, (h) => this.helpers.add(h)).text, min: literal(Infinity, (h) => this.helpers.add(h)).text }[k.op];
    const out = this.buffer(k.out).id;
    const scaled = k.scale === 1 ? 'acc' : `acc * ${literal(k.scale).text}`;
    const keptAxes = this.axes(kept.map((d) => k.shape[d]!), 'o', (j) => `i${kept[j]}`);
    const reducedAxes = this.axes(k.axes.map((d) => k.shape[d]!), 'r', (j) => `i${k.axes[j]}`);
    const element = [...reducedAxes, ...lines, `acc = ${combine('acc', result[0]!.text)};`];
    const signature = '(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u)';
    const phase = this.phaseOf(node);
    const head = [this.comment(entry, node, k), `@compute @workgroup_size(${WORKGROUP})`, `fn ${entry}${signature} {`];
    if (reduced < WORKGROUP) {
      // Few elements each: one invocation per output, a loop over them.
      this.push(entry, phase, Math.ceil(outs / WORKGROUP), [
        ...head,
        ...[`let o = (wid.x + wid.y * nwg.x) * ${WORKGROUP}u + lid;`, `if (o >= ${outs}u) { return; }`, ...keptAxes, `var acc = ${init};`,
          `for (var r = 0u; r < ${reduced}u; r++) {`, ...element.map((l) => `  ${l}`), '}', `${out}[o] = ${scaled};`].map((l) => `  ${l}`),
        '}',
      ]);
      return;
    }
    this.push(entry, phase, outs, [
      ...head,
      ...[
        'let o = wid.x + wid.y * nwg.x;',
        `if (o >= ${outs}u) { return; }`,
        ...keptAxes,
        `var acc = ${init};`,
        `for (var r = lid; r < ${reduced}u; r += ${WORKGROUP}u) {`,
        ...element.map((l) => `  ${l}`),
        '}',
        'fg_acc[lid] = acc;',
        'workgroupBarrier();',
        `for (var s = ${WORKGROUP / 2}u; s > 0u; s >>= 1u) {`,
        `  if (lid < s) { fg_acc[lid] = ${combine('fg_acc[lid]', 'fg_acc[lid + s]')}; }`,
        '  workgroupBarrier();',
        '}',
        `if (lid == 0u) { let acc = fg_acc[0]; ${out}[o] = ${scaled}; }`,
      ].map((l) => `  ${l}`),
      '}',
    ]);
  }

  /** A conv or pool kernel: one invocation per element it writes (wgsl/windows.ts). */
  private window(k: ConvKernel | PoolKernel, phase: KernelPhase, node: Node): void {
    const entry = this.ids.fresh(`${k.kind}_${this.id(k.out)}`);
    const size = sizeOf(k.writes === 'x' ? k.xShape : k.writes === 'y' ? k.yShape : k.kind === 'conv' ? k.wShape : k.xShape);
    const ref = (b: string) => this.buffer(b).id;
    const epilogue = k.kind === 'conv' && k.bias ? ` + ${this.id(k.bias)}${k.relu ? ', then relu' : ''}` : k.kind === 'conv' && k.relu ? ', then relu' : '';
    const what = `${this.id(node.name)} = ${node.op}(${node.inputs.map((i) => this.id(i.name)).join(', ')})${epilogue}`;
    if (k.kind === 'conv' && k.groups === 1) {
      this.convTiles = true;
      const tiles = convTiles(k, ref, entry, TILE);
      this.push(entry, phase, tiles.workgroups, [`/** ${entry}: ${what}, an implicit GEMM in ${TILE} × ${TILE} tiles */`, ...tiles.code]);
      return;
    }
    const isNaN = (v: string) => (this.helpers.add('fg_isnan'), `fg_isnan(${v})`);
    const body = k.kind === 'conv' ? convBody(k, ref) : poolBody(k, ref, literal(-Infinity, (h) => this.helpers.add(h)).text, isNaN);
    this.push(entry, phase, Math.ceil(size / WORKGROUP), [
      `/** ${entry}: ${what} */`,
      `@compute @workgroup_size(${WORKGROUP})`,
      'fn ' + entry + '(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {',
      ...[`let fg_o = i32((wid.x + wid.y * nwg.x) * ${WORKGROUP}u + lid);`, `if (fg_o >= ${size}) { return; }`, ...body].map((l) => `  ${l}`),
      '}',
    ]);
  }

  private phaseOf(node: Node): Phase {
    return this.p.forward.some((s) => s.node === node) ? 'forward' : 'backward';
  }

  /** One entry point per matmul shape, its operands in group 1, called once per matmul. */
  private matmul(k: MatmulKernel, phase: KernelPhase): void {
    const shape = matmulName(k);
    let entry = this.gemmShapes.get(shape);
    const blocks = Math.ceil(k.m / BLOCK) * Math.ceil(k.n / BLOCK);
    if (!entry) {
      entry = this.ids.fresh(shape);
      this.gemmShapes.set(shape, entry);
      const product = `${k.transA ? 'aᵀ' : 'a'} · ${k.transB ? 'bᵀ' : 'b'}${k.bias ? ' + bias' : ''}`;
      const big = blocks >= MIN_BLOCKS;
      if (big) this.blocked++;
      this.entries.push(big ? this.blockedMatmul(k, entry, product) : this.tiledMatmul(k, entry, product));
    }
    const operands = [k.a, k.b, k.out, ...(k.bias ? [k.bias] : [])].map((n) => this.buffer(n).name);
    this.kernels.push({ entry, bindings: [], operands, workgroups: blocks >= MIN_BLOCKS ? blocks : Math.ceil(k.m / TILE) * Math.ceil(k.n / TILE), phase });
  }

  /** What a matmul stores of its accumulated `acc`: with the bias added and ReLU applied when it carries them. */
  private epilogue(k: MatmulKernel, acc: string): string {
    const value = k.bias ? `${acc} + gemm_bias[col]` : acc;
    return k.relu ? (this.helpers.add('fg_max'), `fg_max(0.0, ${value})`) : value;
  }

  /** A small matmul: 16 × 16 outputs a workgroup, one an invocation, both operands staged in workgroup memory. */
  private tiledMatmul(k: MatmulKernel, entry: string, product: string): string {
    const a = k.transA ? `gemm_a[ka * ${k.m}u + row]` : `gemm_a[row * ${k.k}u + ka]`;
    const b = k.transB ? `gemm_b[col * ${k.k}u + kb]` : `gemm_b[kb * ${k.n}u + col]`;
    return [
      `/** ${entry}: c[${k.m}, ${k.n}] = ${k.relu ? `relu(${product})` : product}, over k = ${k.k}, in ${TILE} × ${TILE} tiles */`,
      `@compute @workgroup_size(${TILE}, ${TILE})`,
      `fn ${entry}(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(num_workgroups) nwg: vec3u) {`,
      ...[
        'let tile = wid.x + wid.y * nwg.x;',
        `let row = (tile / ${Math.ceil(k.n / TILE)}u) * ${TILE}u + lid.y;`,
        `let col = (tile % ${Math.ceil(k.n / TILE)}u) * ${TILE}u + lid.x;`,
        'var acc = 0.0;',
        `for (var k0 = 0u; k0 < ${k.k}u; k0 += ${TILE}u) {`,
        '  let ka = k0 + lid.x;',
        '  let kb = k0 + lid.y;',
        `  gemm_ta[lid.y * ${TILE}u + lid.x] = select(0.0, ${a}, row < ${k.m}u && ka < ${k.k}u);`,
        `  gemm_tb[lid.y * ${TILE}u + lid.x] = select(0.0, ${b}, kb < ${k.k}u && col < ${k.n}u);`,
        '  workgroupBarrier();',
        `  for (var k = 0u; k < ${TILE}u; k++) { acc = acc + gemm_ta[lid.y * ${TILE}u + k] * gemm_tb[k * ${TILE}u + lid.x]; }`,
        '  workgroupBarrier();',
        '}',
        `if (row < ${k.m}u && col < ${k.n}u) { gemm_c[row * ${k.n}u + col] = ${this.epilogue(k, 'acc')}; }`,
      ].map((l) => `  ${l}`),
      '}',
    ].join('\n');
  }

  /**
   * A large matmul: each workgroup stages a 16-deep slice of a's 64 rows and b's 64 columns in workgroup memory
   * (read along the operand's own rows, so neighbouring invocations read neighbouring floats), then each
   * invocation accumulates a 4 × 4 block of c in registers.
   */
  private blockedMatmul(k: MatmulKernel, entry: string, product: string): string {
    const threads = 256;
    const per = (16 * BLOCK) / threads;
    // Which (row or column, k) each invocation loads: along k when the operand's rows run along k.
    const load = (side: 'a' | 'b', alongK: boolean, e: string) => {
      const [edge, kk] = alongK ? [`${e} / 16u`, `${e} % 16u`] : [`${e} % ${BLOCK}u`, `${e} / ${BLOCK}u`];
      if (side === 'a') {
        const at = k.transA ? `gemm_a[(k0 + ${kk}) * ${k.m}u + row0 + ${edge}]` : `gemm_a[(row0 + ${edge}) * ${k.k}u + k0 + ${kk}]`;
        return `gemm_sa[(${kk}) * ${BLOCK}u + ${edge}] = select(0.0, ${at}, row0 + ${edge} < ${k.m}u && k0 + ${kk} < ${k.k}u);`;
      }
      const at = k.transB ? `gemm_b[(col0 + ${edge}) * ${k.k}u + k0 + ${kk}]` : `gemm_b[(k0 + ${kk}) * ${k.n}u + col0 + ${edge}]`;
      return `gemm_sb[(${kk}) * ${BLOCK}u + ${edge}] = select(0.0, ${at}, col0 + ${edge} < ${k.n}u && k0 + ${kk} < ${k.k}u);`;
    };
    const lanes = ['x', 'y', 'z', 'w'];
    return [
      `/** ${entry}: c[${k.m}, ${k.n}] = ${k.relu ? `relu(${product})` : product}, over k = ${k.k}, in ${BLOCK} × ${BLOCK} tiles of 4 × 4 per invocation */`,
      '@compute @workgroup_size(16, 16)',
      `fn ${entry}(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32, @builtin(num_workgroups) nwg: vec3u) {`,
      ...[
        'let tile = wid.x + wid.y * nwg.x;',
        `let row0 = (tile / ${Math.ceil(k.n / BLOCK)}u) * ${BLOCK}u;`,
        `let col0 = (tile % ${Math.ceil(k.n / BLOCK)}u) * ${BLOCK}u;`,
        'var acc0 = vec4f(0.0);',
        'var acc1 = vec4f(0.0);',
        'var acc2 = vec4f(0.0);',
        'var acc3 = vec4f(0.0);',
        `for (var k0 = 0u; k0 < ${k.k}u; k0 += 16u) {`,
        `  for (var l = 0u; l < ${per}u; l++) {`,
        `    let e = li + l * ${threads}u;`,
        `    ${load('a', !k.transA, 'e')}`,
        `    ${load('b', !!k.transB, 'e')}`,
        '  }',
        '  workgroupBarrier();',
        '  for (var kk = 0u; kk < 16u; kk++) {',
        `    let ob = kk * ${BLOCK}u + lid.x * 4u;`,
        '    let b = vec4f(gemm_sb[ob], gemm_sb[ob + 1u], gemm_sb[ob + 2u], gemm_sb[ob + 3u]);',
        `    let oa = kk * ${BLOCK}u + lid.y * 4u;`,
        '    acc0 = acc0 + gemm_sa[oa] * b;',
        '    acc1 = acc1 + gemm_sa[oa + 1u] * b;',
        '    acc2 = acc2 + gemm_sa[oa + 2u] * b;',
        '    acc3 = acc3 + gemm_sa[oa + 3u] * b;',
        '  }',
        '  workgroupBarrier();',
        '}',
        ...[0, 1, 2, 3].flatMap((i) => [
          `if (row0 + lid.y * 4u + ${i}u < ${k.m}u) {`,
          `  let row = row0 + lid.y * 4u + ${i}u;`,
          ...lanes.map((lane, j) => `  if (col0 + lid.x * 4u + ${j}u < ${k.n}u) { let col = col0 + lid.x * 4u + ${j}u; gemm_c[row * ${k.n}u + col] = ${this.epilogue(k, `acc${i}.${lane}`)}; }`),
          '}',
        ]),
      ].map((l) => `  ${l}`),
      '}',
    ].join('\n');
  }

  /** step()'s guard: one small entry per checked buffer (feeds, params, the loss, each gradient). */
  private guard(): string[] {
    const { p } = this;
    const updated = p.update.kernels.map((u) => u.param);
    if (!p.spec.guardStep || !p.loss || updated.length === 0) return [];
    this.guardBinding = 0;
    const checked = [...p.inputs.filter((l) => l.dtype === 'float').map((l) => l.name), ...p.params.map((l) => l.name), p.loss.name, ...updated.map((l) => p.grads.get(l.key)!.name)];
    this.helpers.add('fg_finite');
    for (const [n, name] of checked.entries()) {
      this.begin();
      this.used.add(0);
      const b = this.buffer(name);
      const entry = this.ids.fresh(`check_${b.id}`);
      this.push(entry, 'update', Math.ceil(b.size / WORKGROUP), [
        `/** ${entry}: is every element of ${b.id} finite? (checked value ${n}) */`,
        `@compute @workgroup_size(${WORKGROUP})`,
        `fn ${entry}(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {`,
        `  let i = (wid.x + wid.y * nwg.x) * ${WORKGROUP}u + lid;`,
        `  if (i < ${b.size}u && !fg_finite(${b.id}[i])) { atomicMin(&guard[0], ${n}u); }`,
        '}',
      ]);
    }
    return checked;
  }

  /** The optimizer's step (count and bias corrections, or the refusal), then each param's update kernel. */
  private update(): void {
    const { p } = this;
    if (p.update.kernels.length === 0) return;
    this.uniforms = 1;
    const counter = p.spec.optimizer.counter;
    if (counter) this.stepBinding = 2;
    if (this.guardBinding !== undefined || counter) {
      this.begin();
      this.hostVars = true;
      const refuse = this.guardBinding !== undefined
        ? [`if (atomicLoad(&guard[0]) != 0x${NONE.toString(16)}u) {`, '  if (atomicAdd(&guard[1], 1u) == 0u) { atomicStore(&guard[2], atomicLoad(&guard[0])); }', '  return;', '}']
        : [];
      if (this.guardBinding !== undefined) this.used.add(this.guardBinding);
      const scalars = p.update.scalars.map((s, j) => `step_state[${j + 1}] = ${this.expr(s.expr, () => atom('0u')).text};`);
      this.hostVars = false;
      const entry = this.ids.fresh('update_step');
      this.push(entry, 'update', 1, [
        `/** ${entry}: ${this.guardBinding !== undefined ? 'a step with a non-finite loss or gradient is refused (counted, its cause kept); ' : ''}`
          + `${counter ? 'the step is counted and the bias corrections computed' : ''} */`,
        '@compute @workgroup_size(1)',
        `fn ${entry}() {`,
        ...[...refuse, ...(counter ? ['step_state[0] = step_state[0] + 1.0;', ...scalars] : [])].map((l) => `  ${l}`),
        '}',
      ]);
    }
    this.hostVars = true;
    for (const { kernel } of p.update.kernels) {
      this.begin();
      this.map(kernel, 'update');
    }
    this.hostVars = false;
  }
}
