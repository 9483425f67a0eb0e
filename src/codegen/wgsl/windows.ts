// The WGSL renderer's conv and pooling kernels: one invocation per element written, each gathering what reaches
// it (a GPU's invocations must not add into one element): a conv's output sums its window; its input gradient
// sums the outputs whose windows read the element (those where (row + padding − tap·dilation) is a multiple of the
// stride); its weight gradient sums over the batch and output positions; a pool gradient sums the windows that
// chose (max) or hold (avg) the element. Names are fg_-prefixed, which no value's identifier is.
import { convBuffer, type ConvKernel, type Dims4, type PoolKernel } from '../../ir/kernel.ts';

/** `let fg_a = …; let fg_b = …;` splitting flat index `fg_o` over `dims` into the named indices (i32). */
function split(dims: Dims4, names: readonly string[]): string[] {
  let stride = 1;
  const lines: string[] = [];
  for (let d = 3; d >= 0; d--) {
    const q = stride === 1 ? 'fg_o' : `fg_o / ${stride}`;
    lines.unshift(`let ${names[d]} = ${d === 0 ? q : `(${q}) % ${dims[d]}`};`);
    stride *= dims[d]!;
  }
  return lines;
}

const flat = (dims: Dims4, idx: readonly string[]) => `((${idx[0]} * ${dims[1]} + ${idx[1]}) * ${dims[2]} + ${idx[2]}) * ${dims[3]} + ${idx[3]}`;

function loop(v: string, n: number | string, body: string[]): string[] {
  return [`for (var ${v} = 0; ${v} < ${n}; ${v}++) {`, ...body.map((l) => `  ${l}`), '}'];
}

/** The input row (or column) a tap reads for an output position, skipping taps in the padding. */
const forward = (v: string, out: string, tap: string, stride: number, dilation: number, padding: number, size: number) => [
  `let ${v} = ${out} * ${stride} + ${tap} * ${dilation} - ${padding};`,
  `if (${v} < 0 || ${v} >= ${size}) { continue; }`,
];

/** The output row (or column) whose window's tap reads input position `at`, skipping taps that no window puts there. */
const backward = (v: string, at: string, tap: string, stride: number, dilation: number, padding: number, size: number) => [
  `let ${v}_t = ${at} + ${padding} - ${tap} * ${dilation};`,
  `if (${v}_t < 0 || ${v}_t % ${stride} != 0 || ${v}_t / ${stride} >= ${size}) { continue; }`,
  `let ${v} = ${v}_t / ${stride};`,
];

/** A conv kernel's body over flat element fg_o of what it writes; `ref` gives each buffer's identifier. */
export function convBody(k: ConvKernel, ref: (buffer: string) => string): string[] {
  const [n, , h, w] = k.xShape;
  const [f, cg, kh, kw] = k.wShape;
  const [, , ho, wo] = k.yShape;
  const fg = f / k.groups;
  const [x, wt, y] = (['x', 'w', 'y'] as const).map((t) => ref(convBuffer(k, t)));
  // x's element at (fg_r, fg_s), or a zero of the padding (then 0 · ∞ is NaN, as in the implicit GEMM and im2col).
  const inside = `fg_r >= 0 && fg_r < ${h} && fg_s >= 0 && fg_s < ${w}`;
  const xAt = (ch: string) => `select(0.0, ${x}[select(0, ${flat(k.xShape, ['fg_n', ch, 'fg_r', 'fg_s'])}, ${inside})], ${inside})`;
  const at = (v: string, out: string, tap: string, stride: number, dilation: number, padding: number) => `let ${v} = ${out} * ${stride} + ${tap} * ${dilation} - ${padding};`;
  const wAt = `${wt}[${flat(k.wShape, ['fg_f', 'fg_c', 'fg_a', 'fg_e'])}]`;
  const yAt = `${y}[${flat(k.yShape, ['fg_n', 'fg_f', 'fg_i', 'fg_j'])}]`;
  const store = (value: string) => `${ref(k.out)}[fg_o] = ${value};`;
  if (k.writes === 'y') {
    let value = 'fg_sum';
    if (k.bias) value = `fg_sum + ${ref(k.bias)}[fg_f]`;
    if (k.relu) value = `max(0.0, ${value})`;
    return [
      ...split(k.yShape, ['fg_n', 'fg_f', 'fg_i', 'fg_j']),
      `let fg_c0 = (fg_f / ${fg}) * ${cg};`,
      'var fg_sum = 0.0;',
      ...loop('fg_c', cg, loop('fg_a', kh, [
        at('fg_r', 'fg_i', 'fg_a', k.stride[0], k.dilation[0], k.padding[0]),
        ...loop('fg_e', kw, [at('fg_s', 'fg_j', 'fg_e', k.stride[1], k.dilation[1], k.padding[1]), `fg_sum += ${xAt('fg_c0 + fg_c')} * ${wAt};`]),
      ])),
      store(value),
    ];
  }
  if (k.writes === 'x') {
    return [
      ...split(k.xShape, ['fg_n', 'fg_ch', 'fg_r', 'fg_s']),
      `let fg_c = fg_ch % ${cg};`,
      `let fg_f0 = (fg_ch / ${cg}) * ${fg};`,
      'var fg_sum = 0.0;',
      ...loop('fg_g', fg, [
        'let fg_f = fg_f0 + fg_g;',
        ...loop('fg_a', kh, [
          ...backward('fg_i', 'fg_r', 'fg_a', k.stride[0], k.dilation[0], k.padding[0], ho),
          ...loop('fg_e', kw, [...backward('fg_j', 'fg_s', 'fg_e', k.stride[1], k.dilation[1], k.padding[1], wo), `fg_sum += ${wAt} * ${yAt};`]),
        ]),
      ]),
      store('fg_sum'),
    ];
  }
  return [
    ...split(k.wShape, ['fg_f', 'fg_c', 'fg_a', 'fg_e']),
    `let fg_ch = (fg_f / ${fg}) * ${cg} + fg_c;`,
    'var fg_sum = 0.0;',
    ...loop('fg_n', n, loop('fg_i', ho, [
      at('fg_r', 'fg_i', 'fg_a', k.stride[0], k.dilation[0], k.padding[0]),
      ...loop('fg_j', wo, [at('fg_s', 'fg_j', 'fg_e', k.stride[1], k.dilation[1], k.padding[1]), `fg_sum += ${xAt('fg_ch')} * ${yAt};`]),
    ])),
    store('fg_sum'),
  ];
}

/** A pool kernel's body over flat element fg_o of what it writes. */
export function poolBody(k: PoolKernel, ref: (buffer: string) => string, negativeInfinity: string, isNaN: (v: string) => string): string[] {
  const [, , h, w] = k.xShape;
  const [, , ho, wo] = k.yShape;
  const from = ref(k.from);
  const xAt = flat(k.xShape, ['fg_n', 'fg_c', 'fg_r', 'fg_s']);
  const yAt = flat(k.yShape, ['fg_n', 'fg_c', 'fg_i', 'fg_j']);
  const window = (body: string[]) => loop('fg_a', k.kernel[0], [
    ...forward('fg_r', 'fg_i', 'fg_a', k.stride[0], k.dilation[0], k.padding[0], h),
    ...loop('fg_e', k.kernel[1], [...forward('fg_s', 'fg_j', 'fg_e', k.stride[1], k.dilation[1], k.padding[1], w), ...body]),
  ]);
  // The window (fg_i, fg_j)'s first maximum in argmaxOf, as a flat index (a NaN wins), and its divisor.
  const argmax = () => ['var fg_at = -1;', `var fg_best = ${negativeInfinity};`, ...window([
    `let fg_v = ${ref(k.argmaxOf!)}[${xAt}];`,
    // (NaN told by its bits: a driver may fold fg_v != fg_v to false.)
    `if (fg_at < 0 || fg_v > fg_best || ${isNaN('fg_v')}) { fg_best = fg_v; fg_at = i32(${xAt}); }`,
  ])];
  const divisor = () => (k.countIncludePad ? [`let fg_div = ${k.kernel[0] * k.kernel[1]}.0;`] : ['var fg_div = 0.0;', ...window(['fg_div += 1.0;'])]);
  const out = ref(k.out);
  if (k.writes === 'y') {
    const body = k.op === 'max'
      ? [...argmax(), `${out}[fg_o] = select(${from}[max(fg_at, 0)], ${negativeInfinity}, fg_at < 0);`]
      : [...divisor(), 'var fg_sum = 0.0;', ...window([`fg_sum += ${from}[${xAt}];`]), `${out}[fg_o] = fg_sum / fg_div;`];
    return [...split(k.yShape, ['fg_n', 'fg_c', 'fg_i', 'fg_j']), ...body];
  }
  // The gradient: every window whose taps reach this element, found as the input gradient of a conv finds them.
  const windows = (body: string[]) => loop('fg_ta', k.kernel[0], [
    ...backward('fg_i', 'fg_tr', 'fg_ta', k.stride[0], k.dilation[0], k.padding[0], ho),
    ...loop('fg_te', k.kernel[1], [...backward('fg_j', 'fg_ts', 'fg_te', k.stride[1], k.dilation[1], k.padding[1], wo), ...body]),
  ]);
  const body = k.op === 'max'
    ? [...argmax(), `if (fg_at == fg_o) { fg_sum += ${from}[${yAt}]; }`]
    : [...divisor(), `fg_sum += ${from}[${yAt}] / fg_div;`];
  return [...split(k.xShape, ['fg_n', 'fg_c', 'fg_tr', 'fg_ts']), 'var fg_sum = 0.0;', ...windows(body), `${out}[fg_o] = fg_sum;`];
}

/** One side of an implicit GEMM: statements defining `fg_v` (the operand's element) and `fg_ok` (inside it). */
type Gather = readonly string[];

/**
 * A one-group conv as an implicit GEMM (`matmul`'s 16 × 16 tiles in workgroup memory, wgsl/shaders.ts): out[m, n] =
 * Σ A(m, k)·B(k, n), each tile of A and B gathered straight from the conv's tensors under bounds, never stored as
 * columns. The conv: [F, C·kH·kW] · im2col(x); its input gradient: wᵀ's taps · dy gathered where a window put x's
 * element; its weight gradient: dy · im2col(x)ᵀ. Returns the entry's lines and its workgroup count.
 */
export function convTiles(k: ConvKernel, ref: (buffer: string) => string, entry: string, tile: number): { code: string[]; workgroups: number } {
  const [n, c, h, w] = k.xShape;
  const [f, , kh, kw] = k.wShape;
  const [, , ho, wo] = k.yShape;
  const [x, wt, y, out] = [...(['x', 'w', 'y'] as const).map((t) => ref(convBuffer(k, t))), ref(k.out)];
  const taps = c * kh * kw;
  const positions = n * ho * wo;
  // x's element a tap `t` (of C·kH·kW) reads for output position `p` (of N·H'·W'), or 0 in the padding.
  const im2col = (t: string, p: string): Gather => [
    `let fg_pn = ${p} / ${ho * wo}; let fg_i = (${p} % ${ho * wo}) / ${wo}; let fg_j = ${p} % ${wo};`,
    `let fg_c = ${t} / ${kh * kw}; let fg_a = (${t} % ${kh * kw}) / ${kw}; let fg_e = ${t} % ${kw};`,
    `let fg_r = fg_i * ${k.stride[0]} + fg_a * ${k.dilation[0]} - ${k.padding[0]}; let fg_s = fg_j * ${k.stride[1]} + fg_e * ${k.dilation[1]} - ${k.padding[1]};`,
    `let fg_ok = ${t} < ${taps} && ${p} < ${positions} && fg_r >= 0 && fg_r < ${h} && fg_s >= 0 && fg_s < ${w};`,
    `let fg_v = ${x}[select(0, ((fg_pn * ${c} + fg_c) * ${h} + fg_r) * ${w} + fg_s, fg_ok)];`,
  ];
  let m: number, cols: number, inner: number, a: Gather, b: Gather, store: string[];
  if (k.writes === 'y') {
    [m, cols, inner] = [f, positions, taps];
    a = [`let fg_ok = fg_m < ${f} && fg_k < ${taps};`, `let fg_v = ${wt}[select(0, fg_m * ${taps} + fg_k, fg_ok)];`];
    b = im2col('fg_k', 'fg_n');
    let value = 'fg_sum';
    if (k.bias) value = `${value} + ${ref(k.bias)}[fg_m]`;
    if (k.relu) value = `max(0.0, ${value})`;
    store = [`${out}[((fg_n / ${ho * wo}) * ${f} + fg_m) * ${ho * wo} + fg_n % ${ho * wo}] = ${value};`];
  } else if (k.writes === 'x') {
    [m, cols, inner] = [c, n * h * w, f * kh * kw];
    a = [
      `let fg_f = fg_k / ${kh * kw}; let fg_t = fg_k % ${kh * kw};`,
      `let fg_ok = fg_m < ${c} && fg_k < ${inner};`,
      `let fg_v = ${wt}[select(0, (fg_f * ${c} + fg_m) * ${kh * kw} + fg_t, fg_ok)];`,
    ];
    b = [
      `let fg_pn = fg_n / ${h * w}; let fg_r = (fg_n % ${h * w}) / ${w}; let fg_s = fg_n % ${w};`,
      `let fg_f = fg_k / ${kh * kw}; let fg_a = (fg_k % ${kh * kw}) / ${kw}; let fg_e = fg_k % ${kw};`,
      // The output position whose window's tap (a, e) read x at (r, s): where the stride divides the distance.
      `let fg_ti = fg_r + ${k.padding[0]} - fg_a * ${k.dilation[0]}; let fg_tj = fg_s + ${k.padding[1]} - fg_e * ${k.dilation[1]};`,
      `let fg_ok = fg_k < ${inner} && fg_n < ${cols} && fg_ti >= 0 && fg_tj >= 0 && fg_ti % ${k.stride[0]} == 0 && fg_tj % ${k.stride[1]} == 0`
        + ` && fg_ti / ${k.stride[0]} < ${ho} && fg_tj / ${k.stride[1]} < ${wo};`,
      `let fg_v = ${y}[select(0, ((fg_pn * ${f} + fg_f) * ${ho} + fg_ti / ${k.stride[0]}) * ${wo} + fg_tj / ${k.stride[1]}, fg_ok)];`,
    ];
    store = [`${out}[((fg_n / ${h * w}) * ${c} + fg_m) * ${h * w} + fg_n % ${h * w}] = fg_sum;`];
  } else {
    [m, cols, inner] = [f, taps, positions];
    a = [
      `let fg_ok = fg_m < ${f} && fg_k < ${positions};`,
      `let fg_v = ${y}[select(0, ((fg_k / ${ho * wo}) * ${f} + fg_m) * ${ho * wo} + fg_k % ${ho * wo}, fg_ok)];`,
    ];
    b = im2col('fg_n', 'fg_k');
    store = [`${out}[fg_m * ${taps} + fg_n] = fg_sum;`];
  }
  const across = Math.ceil(cols / tile);
  const body = [
    'let fg_tile = wid.x + wid.y * nwg.x;',
    `let fg_m = i32((fg_tile / ${across}u) * ${tile}u + lid.y);`,
    `let fg_n = i32((fg_tile % ${across}u) * ${tile}u + lid.x);`,
    'var fg_sum = 0.0;',
    `for (var fg_k0 = 0; fg_k0 < ${inner}; fg_k0 += ${tile}) {`,
    ...['{', '  let fg_k = fg_k0 + i32(lid.x);', ...a.map((l) => `  ${l}`), `  gemm_ta[lid.y * ${tile}u + lid.x] = select(0.0, fg_v, fg_ok);`, '}'].map((l) => `  ${l}`),
    ...['{', '  let fg_k = fg_k0 + i32(lid.y);', ...b.map((l) => `  ${l}`), `  gemm_tb[lid.y * ${tile}u + lid.x] = select(0.0, fg_v, fg_ok);`, '}'].map((l) => `  ${l}`),
    '  workgroupBarrier();',
    `  for (var fg_t = 0u; fg_t < ${tile}u; fg_t++) { fg_sum = fg_sum + gemm_ta[lid.y * ${tile}u + fg_t] * gemm_tb[fg_t * ${tile}u + lid.x]; }`,
    '  workgroupBarrier();',
    '}',
    `if (fg_m < ${m} && fg_n < ${cols}) {`,
    ...store.map((l) => `  ${l}`),
    '}',
  ];
  return {
    code: [
      `@compute @workgroup_size(${tile}, ${tile})`,
      `fn ${entry}(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(num_workgroups) nwg: vec3u) {`,
      ...body.map((l) => `  ${l}`),
      '}',
    ],
    workgroups: Math.ceil(m / tile) * across,
  };
}
