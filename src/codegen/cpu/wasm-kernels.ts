// The Wasm SIMD kernel backend of the CPU host: matmuls as generated gemm kernels and large fused loops (the
// optimizer's updates included) as generated f32x4 loops (the Wasm renderer, src/codegen/wasm/), all in one
// WebAssembly module over the model's memory, each with the TypeScript the host gives as its fallback where
// WebAssembly SIMD is missing.
import type { Node } from '../../graph/graph.ts';
import { FlatgradError } from '../../errors/errors.ts';
import { columnsKey, convAsProduct, convBuffer, matmulName, outputsOf, shareBounds, type ConvKernel, type Kernel, type MapKernel, type MatmulKernel, type PoolKernel } from '../../ir/kernel.ts';
import type { Leaf, MemoryPlan, Program } from '../../lower/program.ts';
import { formatBytes } from '../../lower/memory.ts';
import { VERSION } from '../../version.ts';
import type { Share as GemmShare } from '../../../templates/prelude/thread_gemm.ts';
import { CONTROL_WORDS, SLOT_WORDS, slot_args } from '../../../templates/prelude/threads.ts';
import { sizeOf } from '../../shape/shape.ts';
import type { KernelBackend } from '../backend.ts';
import { indent } from '../code.ts';
import type { ModuleNames } from '../identifiers.ts';
import { matmulComment } from '../typescript/loops.ts';
import { col2imLoops, im2colLoops, rowLoops } from '../typescript/windows.ts';
import { columnsFunction, maxPoolFunction, rowsFunction, type Range } from '../wasm/window.ts';
import type { FunctionBody } from '../wasm/encoder.ts';
import { finiteFunction } from '../wasm/finite.ts';
import { gemmModule, gemmShare, scratchBytes, type GemmSpec } from '../wasm/gemm.ts';
import { mapFunction, mapShares, scalarNames, wasmSupports } from '../wasm/map.ts';

/** Multiply-adds below which a matmul is not split across threads: the hand-off would cost more than it saves. */
const SPLIT_MIN = 1 << 16;

/** Elements below which a loop is not split across threads. */
const LOOP_SPLIT_MIN = 1 << 15;

/** A WebAssembly memory's most pages of 64 KiB: 4 GiB. */
const WASM_MAX_PAGES = 65536;

/** The bytes of the threads' control words (templates/prelude/threads.ts) for this many threads. */
const controlBytes = (threads: number) => 4 * (CONTROL_WORDS + SLOT_WORDS * threads);

/** Elements below which a fused loop stays TypeScript (unless wasm: 'all'): the call would cost more than it saves. */
const WASM_LOOP_MIN = 1024;

/** What the backend asks of its host: names, a named scalar's code, and the TypeScript each kernel falls back to. */
export interface WasmHost extends ModuleNames {
  /** A named scalar's code where the call is written (lr and bc1 in an update, else the program's scalar). */
  scalar(name: string): string;
  /** A map kernel's TypeScript loops. */
  loops(k: MapKernel): string[];
  /** A matmul's TypeScript call, over its buffers as written. */
  matmul(k: MatmulKernel): string;
  /** A pool kernel's TypeScript loops, its comment first. */
  pool(k: PoolKernel, node: Node): string[];
}

export class WasmKernels implements KernelBackend {
  /**
   * The identifier of each matmul shape's kernel (gemm_64x1000x100), fresh beside every value's. With threads, a
   * large one runs as shares of C's columns or rows, each a kernel of its own (`shares`: its name's index in
   * `shareNames`, and its operands' byte offsets from the whole's).
   */
  private readonly gemms = new Map<string, { id: string; spec: GemmSpec; kernel: MatmulKernel; shares?: GemmShare[] }>();
  /** The matmul kernels of threads' shares. */
  private readonly shareSpecs = new Map<string, GemmSpec>();
  /** Every share's kernel (a matmul's or a loop's), in the order workers know them by. */
  private readonly shareNames: string[] = [];
  /**
   * Fused loops that run as Wasm SIMD (exported under their identifier), with their TypeScript fallback; with
   * threads, a long one-axis loop as shares of its range (`shares`: their functions, and indices in shareNames).
   */
  private readonly loops: { id: string; body: FunctionBody; params: string[]; typescript: string[]; shares?: { fn: number; body: FunctionBody }[] }[] = [];
  /** Each map kernel's Wasm function, or undefined where map.ts cannot compile it. */
  private readonly bodies = new Map<MapKernel, FunctionBody | undefined>();
  private floats?: Map<string, number>;
  /** Whether setup() started a thread pool: the model then has dispose(). */
  threaded = false;

  constructor(private readonly m: WasmHost, private readonly p: Program, private readonly mem: MemoryPlan) {}

  runs(k: Kernel, node?: Node): boolean {
    if (k.kind === 'matmul') return onFloats(node!);
    if (k.kind === 'conv') return asProduct(this.p, k);
    if (k.kind === 'pool') return k.op === 'max';
    return k.kind === 'map' && worthLoop(this.p, k) && this.body(k) !== undefined;
  }

  call(k: Kernel, node?: Node): string[] {
    if (k.kind === 'matmul') return [`${this.gemm(k, (b) => this.m.id(b))};${matmulComment(k, (b) => this.m.id(b))}`];
    if (k.kind === 'conv') return this.conv(k, node!);
    if (k.kind === 'pool') {
      // Max pooling as Wasm, shares of the N·C planes; its TypeScript loops are the fallback.
      const at = (b: string) => this.floatOffsets().get(b)!;
      const offsets = { out: at(k.out), from: at(k.from), argmaxOf: at(k.argmaxOf!) };
      const planes = k.xShape[0] * k.xShape[1];
      const typescript = this.m.pool(k, node!);
      const call = this.windowLoop(`${k.writes === 'x' ? 'unpool' : 'pool'}_${this.m.id(k.out)}`, typescript.slice(1), planes, sizeOf(k.xShape), (r) => maxPoolFunction(k, offsets, r), '');
      return [typescript[0]!, call];
    }
    if (k.kind !== 'map') throw new Error(`internal: no Wasm for a ${k.kind} kernel`);
    // The loop's name says whose value it computes: loop_h, update_w1 (an optimizer's update).
    const id = this.m.fresh(`${node ? 'loop' : 'update'}_${this.m.id(k.out)}`);
    const params = scalarsOf(k).map((n) => this.m.scalar(n));
    const typescript = this.m.loops(k);
    const threads = this.p.spec.threads ?? 1;
    const splits = params.length <= 5 && this.splitsLoop(sizeOf(k.shape));
    const bodies = splits ? mapShares(k, this.floatOffsets(), scalarsOf(k), threads, (share) => this.controlAt() + 4 * slot_args(share)) : undefined;
    const shares = bodies?.map((body, s) => ({ body, fn: this.shareNames.push(this.m.fresh(`${id}_${s}`)) - 1 }));
    this.loops.push({ id, body: this.body(k)!, params, typescript, ...(shares && shares.length > 1 ? { shares } : {}) });
    // The call carries the loop's statement for its output as a comment, read as the lecture writes it (no `!`).
    const out = `${this.m.id(k.out)}[`;
    const statement = typescript.map((l) => l.trim().replace(/^for \(let i = 0; i < \d+; i\+\+\) /, '')).find((l) => l.startsWith(out))!;
    return [`${id}(${params.join(', ')}); // ${statement.replace(/\]!/g, ']')}`];
  }

  /** A gemm kernel's call (its kernel made once per shape, split across threads where that pays); `id` names the operands. */
  private gemm(k: MatmulKernel, id: (buffer: string) => string): string {
    const name = matmulName(gemmSpec(k));
    let gemm = this.gemms.get(name);
    if (!gemm) this.gemms.set(name, (gemm = { id: this.m.fresh(name), spec: gemmSpec(k), kernel: k, ...this.split(gemmSpec(k)) }));
    return `${gemm.id}(${[k.a, k.b, k.out, ...(k.bias ? [k.bias] : [])].map(id).join(', ')})`;
  }

  /** The scratch areas' views (the memory plan's columns and rows, and the kept columns by columnsKey), declared once in setup(). */
  private scratch?: { columns: string; rows: string; kept: Map<string, string> };

  /**
   * A conv as one matrix product over the batch (convAsProduct): im2col of x into the columns, then the gemm; its
   * gradients take dy as rows [F, P] and give the weight's gradient, or the columns' (summed back into x: col2im).
   */
  private conv(k: ConvKernel, node: Node): string[] {
    const buffer = { x: convBuffer(k, 'x'), w: convBuffer(k, 'w'), y: convBuffer(k, 'y') };
    const { f, k: taps, p } = convAsProduct(k)!;
    this.scratch ??= { columns: this.m.fresh('conv_columns'), rows: this.m.fresh('conv_rows'), kept: new Map() };
    const { rows } = this.scratch;
    const scratch = this.mem.scratch!;
    // A conv whose weight gradient follows keeps its columns for it (in an area of its own), which skips its im2col.
    const key = columnsKey(k);
    const keptArea = k.writes === 'x' ? undefined : scratch.kept.get(key);
    if (keptArea && !this.scratch.kept.has(key)) this.scratch.kept.set(key, this.m.fresh(`conv_columns_${this.m.id(buffer.x)}`));
    const columns = keptArea ? this.scratch.kept.get(key)! : this.scratch.columns;
    const columnsAt = keptArea ? keptArea.offset : scratch.columns.offset;
    const views = new Set([this.scratch.columns, rows, ...this.scratch.kept.values()]);
    const id = (b: string) => (views.has(b) ? b : this.m.id(b));
    const product = (m: number, inner: number, n: number, a: string, b: string, out: string, transA = false, transB = false) =>
      `${this.gemm({ kind: 'matmul', m, k: inner, n, a, b, out, transA, transB }, id)};`;
    const [x, y] = [id(buffer.x), id(buffer.y)];
    const what = `// ${id(k.out)} = ${node.op}(${node.inputs.map((i) => this.m.id(i.name)).join(', ')})${k.bias ? ` + ${id(k.bias)}` : ''}${k.relu ? ', then relu' : ''}`;
    const at = (b: string) => this.floatOffsets().get(b)!;
    const [c, kh, kw] = k.wShape.slice(1) as [number, number, number];
    const threads = this.p.spec.threads ?? 1;
    // Shares of channels, or of a channel's taps when there are fewer channels than threads (im2col only).
    const byTaps = c < threads;
    const im2col = () => this.windowLoop(`im2col_${x}`, im2colLoops(k, x, columns), byTaps ? kh * kw : c, taps * p, (r) =>
      columnsFunction(k, at(buffer.x), columnsAt, byTaps ? [0, c] : r, byTaps ? r : [0, kh * kw], false), '// each tap\'s input at every output position');
    const bias = k.bias === undefined ? undefined : at(k.bias);
    const moveRows = (toRows: boolean) => this.windowLoop(toRows ? `rows_${y}` : `store_${y}`, rowLoops(k, y, rows, toRows, k.bias && id(k.bias), k.relu), k.yShape[0], f * p,
      (r) => rowsFunction(k, at(buffer.y), scratch.rows.offset, r, toRows, toRows ? undefined : bias, k.relu), toRows ? `// ${y} as rows [${f}, ${p}]` : `// the rows into ${y}, NCHW`);
    switch (k.writes) {
      case 'y':
        return [`${what}: im2col, then [${f}, ${taps}] · [${taps}, ${p}]`, im2col(), product(f, taps, p, buffer.w, columns, rows), moveRows(false)];
      case 'w':
        return [`${what}: dy as rows [${f}, ${p}] · columnsᵀ${keptArea ? ' (the conv\'s own, kept)' : ''}`, moveRows(true), ...(keptArea ? [] : [im2col()]),
          product(f, p, taps, rows, columns, buffer.w, false, true)];
      case 'x': {
        const col2im = this.windowLoop(`col2im_${x}`, col2imLoops(k, columns, x), c, taps * p, (r) => columnsFunction(k, at(buffer.x), columnsAt, r, [0, kh * kw], true),
          '// each tap\'s gradient back where it read the input');
        return [`${what}: wᵀ · dy as rows [${f}, ${p}], then col2im`, moveRows(true), product(taps, f, p, buffer.w, rows, columns, true), col2im];
      }
    }
  }

  /**
   * One of a conv's loops (im2col, col2im, the rows' moves: wasm/window.ts) as a Wasm function called `${id}()`, with
   * its TypeScript where Wasm is missing; with threads, a large one as shares of its `units` (channels, taps or
   * images), each `body` of its range.
   */
  private windowLoop(base: string, typescript: string[], units: number, elements: number, body: (range: Range) => FunctionBody, comment: string): string {
    const id = this.m.fresh(base);
    const bounds = units > 1 && this.splitsLoop(elements) ? shareBounds(units, this.p.spec.threads!, 1) : [0, units];
    const shares = bounds.length > 2 ? bounds.slice(0, -1).map((from, s) => ({ body: body([from, bounds[s + 1]!]), fn: this.shareNames.push(this.m.fresh(`${id}_${s}`)) - 1 })) : undefined;
    this.loops.push({ id, body: body([0, units]), params: [], typescript, ...(shares ? { shares } : {}) });
    return `${id}();${comment ? ` ${comment}` : ''}`;
  }

  /**
   * Whether a loop of `elements` runs as shares on the threads: there are threads, it is long enough to pay for
   * the hand-off (any length with wasm: 'all', for tests), and the threads' control words fit in 4 GiB (beyond,
   * there are no shares to build: setup() says the model is too big).
   */
  private splitsLoop(elements: number): boolean {
    const threads = this.p.spec.threads ?? 1;
    return threads > 1 && this.controlAt() + controlBytes(threads) <= 2 ** 32 && elements >= (this.p.spec.wasm === 'all' ? 17 : LOOP_SPLIT_MIN);
  }

  /**
   * A matmul worth splitting, in one share per thread: blocks of C's columns when each gets 16 or more (with B's
   * columns, or a transposed B's rows), so that a thread reads and packs only its part of a weight rather than all
   * of it (2 threads, A/B in one process: the MNIST example's step 5–10% faster, W1's and W2's 3–9%, a square 512³
   * matmul the same); else blocks of C's rows (A's rows, or transposed its columns, read with the whole's stride).
   * Multiples of 4 (the micro-kernel's). Each share computes its block as one thread computes it, so C is the same
   * bit for bit whatever the thread count.
   */
  private split(spec: GemmSpec): { shares?: GemmShare[] } {
    const threads = this.p.spec.threads ?? 1;
    // wasm: 'all' (for testing the kernels) splits whatever makes two shares, however small.
    const all = this.p.spec.wasm === 'all';
    const columns = spec.n / threads >= 16;
    if (threads <= 1 || (!columns && spec.m <= 4) || (!all && ((!columns && spec.m < 8) || spec.m * spec.k * spec.n < SPLIT_MIN))) return {};
    const bounds = shareBounds(columns ? spec.n : spec.m, threads, 4);
    const shares: GemmShare[] = [];
    for (let i = 0; i + 1 < bounds.length; i++) {
      const { spec: share, ...offsets } = gemmShare(spec, bounds[i]!, bounds[i + 1]!, columns);
      const name = matmulName(share);
      if (!this.shareSpecs.has(name)) {
        this.shareSpecs.set(name, share);
        this.shareNames.push(name);
      }
      shares.push({ fn: this.shareNames.indexOf(name), ...offsets });
    }
    return { shares };
  }

  /** Where the threads' control words are: right after the arena, so that a loop's shares can read their scalars there. */
  private controlAt(): number {
    return this.mem.bytes;
  }

  private body(k: MapKernel): FunctionBody | undefined {
    if (!this.bodies.has(k)) this.bodies.set(k, outputsOf(k).every((o) => wasmSupports(o.expr)) ? mapFunction([k], this.floatOffsets(), scalarsOf(k)) : undefined);
    return this.bodies.get(k);
  }

  /** Where every float buffer is, aliases included: what a Wasm loop may read and write. */
  private floatOffsets(): ReadonlyMap<string, number> {
    if (this.floats) return this.floats;
    const { p, mem } = this;
    const floatBuffers = p.buffers.filter((b) => b.node.dtype === 'float');
    const names = [...floatBuffers.map((b) => b.name), ...p.params.map((l) => l.name), ...p.state.map((l) => l.name), ...p.inputs.filter((l) => l.dtype === 'float').map((l) => l.name)];
    const floats = new Map(names.map((n) => [n, mem.offsets.get(n)!]));
    for (const a of p.aliases) if (floats.has(a.of)) floats.set(a.name, floats.get(a.of)!);
    return (this.floats = floats);
  }

  /**
   * After every kernel's call is written: the lines that set up the kernels at the top of createModel (the
   * model's memory holds the arena and the kernels' scratch; each kernel is its export or its TypeScript
   * fallback), and the module's bytes at its end. `finite`: the buffers of step()'s guard, and its TypeScript.
   */
  setup(finite: { buffers: readonly { name: string; size: number }[]; typescript: string[] } | undefined): { head: string[]; tail: string[] } {
    const { p, mem, m } = this;
    const gemms = [...this.gemms.values()];
    const { shareNames } = this;
    const specs = [...gemms.filter((g) => !g.shares).map((g) => g.spec), ...this.shareSpecs.values()];
    const threads = shareNames.length ? p.spec.threads! : 1;
    this.threaded = threads > 1;
    // After the arena the threads' control words, then each share's own scratch area (they may run at once).
    const control = this.controlAt();
    const scratchAt = control + (threads > 1 ? Math.ceil(controlBytes(threads) / 16) * 16 : 0);
    const scratch = Math.ceil(scratchBytes(specs) / 16) * 16;
    const pages = Math.max(1, Math.ceil((scratchAt + scratch * threads) / 65536));
    if (pages > WASM_MAX_PAGES) {
      const of = (leaves: readonly Leaf[]) => formatBytes(leaves.reduce((n, l) => n + l.size * 4, 0));
      throw new FlatgradError(
        `compile: the model's buffers take ${formatBytes(scratchAt + scratch * threads)} (params ${of(p.params)}, optimizer state ${of(p.state)}, inputs ${of(p.inputs)}, `
          + 'the rest values and gradients), more than the 4 GiB one WebAssembly memory holds; compile it with wasm: false (TypeScript loops over an ArrayBuffer, '
          + 'which may be larger), or make it smaller',
        p.spec.site,
      );
    }
    const place = (name: string) => this.floatOffsets().get(name)!;
    const extra = [
      ...(finite ? [{ name: 'step_finite', body: finiteFunction(finite.buffers.map((b) => ({ offset: place(b.name), size: b.size }))) }] : []),
      ...this.loops.flatMap((l) => (l.shares ? l.shares.map((s) => ({ name: shareNames[s.fn]!, body: s.body })) : [{ name: l.id, body: l.body }])),
    ];
    const base64 = (relaxed: boolean) => Buffer.from(gemmModule(specs, { relaxed, ...(threads > 1 ? { sharedPages: pages } : {}) }, extra)).toString('base64');
    m.use('kernels');
    if (gemms.some((g) => g.shares)) m.use('thread_gemm');
    if (this.loops.some((l) => l.shares)) m.use('thread_loop');
    if (gemms.some((g) => !g.shares)) m.use('gemm');
    const fallback = (k: MatmulKernel): string => {
      const call = this.m.matmul({ ...k, a: 'a', b: 'b', out: 'c' });
      if (!k.bias && !k.relu) return `(a, b, c) => ${call}`;
      const value = `c[i]! ${k.bias ? `+ bias![i % ${k.n}]!` : ''}`.trim();
      return `(a, b, c${k.bias ? ', bias' : ''}) => {\n    ${call};\n    for (let i = 0; i < ${k.m * k.n}; i++) c[i] = ${k.relu ? `Math.max(0, ${value})` : value};\n  }`;
    };
    const buffers = `${mem.bytes} bytes; ${mem.withoutReuse} with one per value`;
    return {
      head: [
        ...(threads > 1 ? [
          `const threads = thread_count(options.threads, ${threads}); // the machine's cores, at most ${threads}, unless asked`,
          `const memory = model_memory(${pages}, threads); // every buffer, reused by liveness (${buffers}), then the threads' control words, `
            + `then ${scratch} bytes of kernel scratch for each of ${threads} shares`,
        ] : [`const memory = new WebAssembly.Memory({ initial: ${pages}, maximum: ${pages} }); // every buffer, reused by liveness (${buffers}), then ${scratch} bytes of kernel scratch`]),
        'const arena = memory.buffer;',
        'const kernels = load_kernels(GEMM_WASM_SIMD, GEMM_WASM_RELAXED_SIMD, memory, options.simd !== false);',
        ...(threads > 1 ? [
          `const share_kernels = [${shareNames.map((n) => `'${n}'`).join(', ')}]; // each thread's share of a split matmul or loop`,
          `const pool = thread_pool(kernels.module, kernels.exports, memory, threads, ${threads}, ${control}, share_kernels);`,
        ] : []),
        ...(this.scratch && mem.scratch ? [
          `const ${this.scratch.columns} = new Float32Array(arena, ${mem.scratch.columns.offset}, ${mem.scratch.columns.floats}); // a conv's im2col columns [K, P], as many as the largest conv's`,
          `const ${this.scratch.rows} = new Float32Array(arena, ${mem.scratch.rows.offset}, ${mem.scratch.rows.floats}); // a conv's rows [F, P]`,
          ...[...this.scratch.kept].map(([key, view]) => {
            const area = mem.scratch!.kept.get(key)!;
            return `const ${view} = new Float32Array(arena, ${area.offset}, ${area.floats}); // a conv's columns, kept for its weight gradient`;
          }),
        ] : []),
        ...gemms.map((g) => g.shares
          ? `const ${g.id} = threaded_gemm(pool, [${g.shares.map((s) => `{ fn: ${s.fn}, a: ${s.a}, b: ${s.b}, c: ${s.c}, bias: ${s.bias} }`).join(', ')}], ${scratchAt}, ${scratch}, `
            + `${fallback(g.kernel)});`
          : `const ${g.id} = gemm(kernels.exports, '${matmulName(g.spec)}', ${scratchAt}, ${fallback(g.kernel)});`),
        ...(finite ? ["const step_finite = (kernels.exports?.['step_finite'] as (() => number) | undefined) ?? (() => {", ...indent(finite.typescript), '});'] : []),
        ...this.loops.flatMap((l) => {
          const params = l.params.map((n) => `${n}: number`).join(', ');
          if (l.shares) return [`const ${l.id} = threaded_loop(pool, [${l.shares.map((s) => s.fn).join(', ')}], (${params}) => {`, ...indent(l.typescript), '});'];
          return [`const ${l.id} = (kernels.exports?.['${l.id}'] as ((${params}) => void) | undefined) ?? ((${params}) => {`, ...indent(l.typescript), '});'];
        }),
      ],
      tail: [
        '',
        `// WebAssembly SIMD kernels for the code above, generated by flatgrad ${VERSION} (src/codegen/wasm/): one build with`,
        `// relaxed SIMD's fused multiply-add in the matmuls, one without${gemms.length ? '' : ' (without a matmul nothing differs: no relaxed build)'}.`,
        `const GEMM_WASM_SIMD = '${base64(false)}';`,
        `const GEMM_WASM_RELAXED_SIMD = '${gemms.length ? base64(true) : ''}';`,
      ],
    };
  }
}

/**
 * Whether Wasm kernels have work to do: a float matmul, or a fused loop (an update included) of WASM_LOOP_MIN
 * elements or more that map.ts can compile. Else the module stays plain TypeScript, without a WebAssembly.Memory.
 */
export function worthWasm(p: Program): boolean {
  const kernels = [...p.forward, ...p.backward];
  return p.update.kernels.some(({ kernel }) => worthLoop(p, kernel))
    || kernels.some(({ kernel: k, node }) => (k.kind === 'matmul' && onFloats(node)) || (k.kind === 'map' && worthLoop(p, k)))
    || kernels.some(({ kernel: k }) => (k.kind === 'conv' && asProduct(p, k)) || (k.kind === 'pool' && k.op === 'max'));
}

const worthLoop = (p: Program, k: MapKernel) => sizeOf(k.shape) >= (p.spec.wasm === 'all' ? 1 : WASM_LOOP_MIN) && outputsOf(k).every((o) => wasmSupports(o.expr));

/** The named scalars a map kernel reads, in order of first use: its Wasm function's parameters. */
const scalarsOf = (k: MapKernel) => [...new Set(outputsOf(k).flatMap((o) => scalarNames(o.expr)))];

/** The Wasm kernels read f32: a matmul of integers stays in the TypeScript loops. */
const onFloats = (node: Node) => node.inputs.every((i) => i.dtype === 'float');

/** Whether a conv runs as a gemm: it has one group, and the memory plan made its scratch. */
const asProduct = (p: Program, k: ConvKernel) => p.memory?.scratch !== undefined && convAsProduct(k) !== undefined;

const gemmSpec = (k: MatmulKernel): GemmSpec => ({ m: k.m, k: k.k, n: k.n, transA: k.transA, transB: k.transB, bias: k.bias !== undefined, relu: k.relu === true });
