// The WGSL renderer's conv and pooling kernels: one invocation per element written, each gathering what reaches
// it (a GPU's invocations must not add into one element): a conv's output sums its window; its input gradient
// sums the outputs whose windows read the element (those where (row + padding − tap·dilation) is a multiple of the
// stride); its weight gradient sums over the batch and output positions; a pool gradient sums the windows that
// chose (max) or hold (avg) the element. Names are fg_-prefixed, which no value's identifier is.
import type { ConvKernel, Dims4, PoolKernel } from '../../ir/kernel.ts';

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
  const [x, wt, y] = [ref(k.x), ref(k.w), ref(k.y)];
  const xAt = (ch: string) => `${x}[${flat(k.xShape, ['fg_n', ch, 'fg_r', 'fg_s'])}]`;
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
        ...forward('fg_r', 'fg_i', 'fg_a', k.stride[0], k.dilation[0], k.padding[0], h),
        ...loop('fg_e', kw, [...forward('fg_s', 'fg_j', 'fg_e', k.stride[1], k.dilation[1], k.padding[1], w), `fg_sum += ${xAt('fg_c0 + fg_c')} * ${wAt};`]),
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
      ...forward('fg_r', 'fg_i', 'fg_a', k.stride[0], k.dilation[0], k.padding[0], h),
      ...loop('fg_j', wo, [...forward('fg_s', 'fg_j', 'fg_e', k.stride[1], k.dilation[1], k.padding[1], w), `fg_sum += ${xAt('fg_ch')} * ${yAt};`]),
    ])),
    store('fg_sum'),
  ];
}

/** A pool kernel's body over flat element fg_o of what it writes. */
export function poolBody(k: PoolKernel, ref: (buffer: string) => string, negativeInfinity: string): string[] {
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
    // fg_v != fg_v is true for a NaN only, where the GPU keeps NaNs.
    'if (fg_at < 0 || fg_v > fg_best || fg_v != fg_v) { fg_best = fg_v; fg_at = i32(' + xAt + '); }',
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
  const own = 'fg_o';
  const windows = (body: string[]) => loop('fg_ta', k.kernel[0], [
    ...backward('fg_i', 'fg_tr', 'fg_ta', k.stride[0], k.dilation[0], k.padding[0], ho),
    ...loop('fg_te', k.kernel[1], [...backward('fg_j', 'fg_ts', 'fg_te', k.stride[1], k.dilation[1], k.padding[1], wo), ...body]),
  ]);
  const body = k.op === 'max'
    ? [...argmax(), `if (fg_at == ${own}) { fg_sum += ${from}[${yAt}]; }`]
    : [...divisor(), `fg_sum += ${from}[${yAt}] / fg_div;`];
  return [...split(k.xShape, ['fg_n', 'fg_c', 'fg_tr', 'fg_ts']), 'var fg_sum = 0.0;', ...windows(body), `${out}[fg_o] = fg_sum;`];
}
