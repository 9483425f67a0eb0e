// The TypeScript renderer's conv and pooling kernels: the flat loops of the course's naive layers. The forward
// sums each output's window (conv_forward_naive); a gradient walks the same windows and sends each output's
// gradient back to what it read (conv_backward_naive, max_pool_backward_naive). A conv's padding reads zeros, as the
// course's x_pad holds; elsewhere it is a bounds check, written only where some tap can fall in it.
import { convBuffer, type ConvKernel, type PoolKernel } from '../../ir/kernel.ts';
import { indent } from '../code.ts';

/** a·b + c·d + … + k as short text: terms of 1 drop their factor, of 0 drop out. */
function linear(terms: readonly (readonly [string, number])[], constant = 0): string {
  const parts = terms.filter(([, s]) => s !== 0).map(([v, s]) => (s === 1 ? v : `${v} * ${s}`));
  if (constant !== 0 || parts.length === 0) parts.push(String(constant));
  return parts.join(' + ').replace(/\+ -/g, '- ');
}

/** The flat index of [a, b, c, d] in a row-major tensor of sizes `dims`: ((a·B + b)·C + c)·D + d, written short. */
function at(dims: readonly number[], index: readonly string[]): string {
  let text = dims[0] === 1 ? '' : index[0]!;
  for (let d = 1; d < dims.length; d++) {
    if (text === '') text = index[d]!;
    else text = `${/^\w+$/.test(text) ? text : `(${text})`} * ${dims[d]} + ${index[d]}`;
  }
  return text;
}

function loop(v: string, n: number, body: string[]): string[] {
  return [`for (let ${v} = 0; ${v} < ${n}; ${v}++) {`, ...indent(body), '}'];
}

/**
 * The window's input row (or column) for output position `out` of `outs` and tap `tap` of `taps`, and its bounds check
 * where some position's tap falls in the padding.
 */
function tapAt(v: string, out: string, tap: string, [outs, taps]: readonly [number, number], stride: number, dilation: number, padding: number, size: number): string[] {
  const { declare, inside } = tapOf(v, out, tap, [outs, taps], stride, dilation, padding, size);
  return [declare, ...(inside ? [`if (${v} < 0 || ${v} >= ${size}) continue;`] : [])];
}

/** tapAt's declaration, and the test that the tap is inside x where some position's tap falls in the padding. */
function tapOf(v: string, out: string, tap: string, [outs, taps]: readonly [number, number], stride: number, dilation: number, padding: number, size: number) {
  const within = staysInside(outs, taps, stride, dilation, padding, size);
  return { declare: `const ${v} = ${linear([[out, stride], [tap, dilation]], -padding)};`, inside: within ? undefined : `${v} >= 0 && ${v} < ${size}` };
}

/** Whether every one of `outs` positions' `taps` taps lands inside an axis of `size`: no padding, and the last tap fits. */
function staysInside(outs: number, taps: number, stride: number, dilation: number, padding: number, size: number): boolean {
  return padding === 0 && (outs - 1) * stride + (taps - 1) * dilation < size;
}

/**
 * A conv kernel's loops (`id` names buffers). Every output position (n, f, i, j) meets every tap (c, kh, kw) of
 * its filter at input position (row, col). The conv sums them into `sum`; its gradients send `dout` back.
 */
export function convLoops(k: ConvKernel, id: (buffer: string) => string, comment: string): string[] {
  const [, c, h, w] = k.xShape;
  const [f, cg, kh, kw] = k.wShape;
  const [n, , ho, wo] = k.yShape;
  const fg = f / k.groups;
  const [x, wt, y] = (['x', 'w', 'y'] as const).map((t) => id(convBuffer(k, t)));
  const channel = k.groups === 1 ? 'c' : 'c0 + c';
  const xAt = `${x}[${at([n, c, h, w], ['n', channel, 'row', 'col'])}]!`;
  const wAt = `${wt}[${at([f, cg, kh, kw], ['f', 'c', 'kh', 'kw'])}]!`;
  const yAt = `${y}[${at([n, f, ho, wo], ['n', 'f', 'i', 'j'])}]`;
  const rowAt = [[ho, kh], k.stride[0], k.dilation[0], k.padding[0], h] as const;
  const colAt = [[wo, kw], k.stride[1], k.dilation[1], k.padding[1], w] as const;
  let taps: string[];
  if (k.writes === 'x') {
    // The gradient sent to the padding goes nowhere: x has no element there.
    taps = loop('c', cg, loop('kh', kh, [...tapAt('row', 'i', 'kh', ...rowAt), ...loop('kw', kw, [...tapAt('col', 'j', 'kw', ...colAt), `${xAt} += ${wAt} * dout;`])]));
  } else {
    // A tap in the padding reads a zero, as the course's x_pad holds (0 · ∞ is NaN there, as in im2col).
    const [row, col] = [tapOf('row', 'i', 'kh', ...rowAt), tapOf('col', 'j', 'kw', ...colAt)];
    const inside = [row.inside, col.inside].filter((t) => t !== undefined);
    const value = inside.length ? `const v = ${inside.join(' && ')} ? ${xAt} : 0; // 0 in the padding` : `const v = ${xAt};`;
    const statement = k.writes === 'y' ? `sum += v * ${wAt};` : `${wAt} += v * dout;`;
    taps = loop('c', cg, loop('kh', kh, [row.declare, ...loop('kw', kw, [col.declare, value, statement])]));
  }
  let store = 'sum';
  if (k.bias) store = `sum + ${id(k.bias)}[f]!`;
  if (k.relu) store = `Math.max(0, ${store})`;
  const position = k.writes === 'y' ? ['let sum = 0;', ...taps, `${yAt} = ${store};`] : [`const dout = ${yAt}!;`, ...taps];
  const group = k.groups === 1 ? [] : [`const c0 = Math.floor(f / ${fg}) * ${cg};`];
  return [
    comment,
    ...(k.writes === 'y' ? [] : [`${id(k.out)}.fill(0);`]),
    ...loop('n', n, loop('f', f, [...group, ...loop('i', ho, loop('j', wo, position))])),
  ];
}

/**
 * A pool kernel's loops: each output position (n, c, i, j) of every channel against the taps (kh, kw) of its
 * window. Max pooling finds `at`, the window's first maximum; average pooling sums, or spreads back, over `count`.
 */
export function poolLoops(k: PoolKernel, id: (buffer: string) => string, comment: string): string[] {
  const [n, c, h, w] = k.xShape;
  const [, , ho, wo] = k.yShape;
  const from = id(k.from);
  const xAt = at([n, c, h, w], ['n', 'c', 'row', 'col']);
  const yAt = at([n, c, ho, wo], ['n', 'c', 'i', 'j']);
  const window = (body: string[]) => loop('kh', k.kernel[0], [
    ...tapAt('row', 'i', 'kh', [ho, k.kernel[0]], k.stride[0], k.dilation[0], k.padding[0], h),
    ...loop('kw', k.kernel[1], [...tapAt('col', 'j', 'kw', [wo, k.kernel[1]], k.stride[1], k.dilation[1], k.padding[1], w), ...body]),
  ]);
  let position: string[];
  if (k.op === 'max') {
    const of = id(k.argmaxOf!);
    // A NaN wins (the last one), as in PyTorch: the window's maximum is then NaN.
    const find = ['let at = -1;', 'let best = -Infinity;', ...window([`const v = ${of}[${xAt}]!;`, 'if (at < 0 || v > best || Number.isNaN(v)) {', '  best = v;', `  at = ${xAt};`, '}'])];
    position = k.writes === 'y'
      ? [...find, `${id(k.out)}[${yAt}] = at < 0 ? -Infinity : ${of === from ? 'best' : `${from}[at]!`};`]
      : [...find, `if (at >= 0) ${id(k.out)}[at]! += ${from}[${yAt}]!;`];
  } else {
    const divisor = k.countIncludePad ? String(k.kernel[0] * k.kernel[1]) : 'count';
    const counted = k.countIncludePad ? [] : ['let count = 0;', ...window(['count++;'])];
    position = k.writes === 'y'
      ? [...counted, 'let sum = 0;', ...window([`sum += ${from}[${xAt}]!;`]), `${id(k.out)}[${yAt}] = sum / ${divisor};`]
      : [...counted, `const dout = ${from}[${yAt}]! / ${divisor};`, ...window([`${id(k.out)}[${xAt}]! += dout;`])];
  }
  return [comment, ...(k.writes === 'x' ? [`${id(k.out)}.fill(0);`] : []), ...loop('n', n, loop('c', c, loop('i', ho, loop('j', wo, position))))];
}

/**
 * A conv's im2col: every tap's (c, kh, kw) input at every output position (n, i, j), a row per tap, 0 where padded,
 * into `columns` [K, P]: the matrix the filters [F, K] multiply (convAsProduct).
 */
export function im2colLoops(k: ConvKernel, x: string, columns: string): string[] {
  return columnLoops(k, '// im2col: each tap\'s input at every output position', {
    padded: (count) => `for (let j = 0; j < ${count}; j++) ${columns}[at++] = 0;`,
    inside: (from) => `${columns}[at++] = ${x}[${from}]!;`,
  });
}

/** col2im: the columns' gradient [K, P] summed back into x's gradient, each tap's value where it read x. */
export function col2imLoops(k: ConvKernel, columns: string, dx: string): string[] {
  return [`${dx}.fill(0);`, ...columnLoops(k, '// col2im: each tap\'s gradient back where it read the input', {
    padded: (count) => `at += ${count};`,
    inside: (from) => `${dx}[${from}]! += ${columns}[at++]!;`,
  })];
}

/**
 * The loops of im2col and col2im, one row of output positions at a time without a test per element: `padded`
 * passes over `count` positions whose tap reads the padding, `inside` handles one that reads x at `from`.
 */
function columnLoops(k: ConvKernel, comment: string, element: { padded: (count: string) => string; inside: (from: string) => string }): string[] {
  const [, c, h, w] = k.xShape;
  const [, , kh, kw] = k.wShape;
  const [n, , ho, wo] = k.yShape;
  const [sh, sw] = k.stride;
  const [dh, dw] = k.dilation;
  const [ph, pw] = k.padding;
  // The output columns j0 ≤ j < j1 whose tap kw reads inside x (all of them when nothing is padded).
  const all = staysInside(wo, kw, sw, dw, pw, w);
  const tap = dw === 1 ? 'kw' : `kw * ${dw}`;
  const bounds = all ? [] : [
    `const j0 = Math.min(${wo}, Math.max(0, Math.ceil((${pw} - ${tap}) / ${sw})));`,
    `const j1 = Math.max(j0, Math.min(${wo}, Math.ceil((${w + pw} - ${tap}) / ${sw})));`,
  ];
  const first = `((n * ${c} + c) * ${h} + row) * ${w} + ${linear([...(all ? [] : [['j0', sw] as const]), ['kw', dw]], -pw)}`;
  const row = all
    ? [`let from = ${first};`, `for (let j = 0; j < ${wo}; j++, from += ${sw}) ${element.inside('from')}`]
    : [`let from = ${first};`, element.padded('j0'), `for (let j = j0; j < j1; j++, from += ${sw}) ${element.inside('from')}`, element.padded(`${wo} - j1`)];
  const rowsWithin = staysInside(ho, kh, sh, dh, ph, h);
  const perRow = [
    `const row = ${linear([['i', sh], ['kh', dh]], -ph)};`,
    ...(rowsWithin ? row : [`if (row < 0 || row >= ${h}) {`, `  ${element.padded(String(wo))}`, '  continue;', '}', ...row]),
  ];
  const rows = loop('n', n, loop('i', ho, perRow));
  return [comment, '{', ...indent(['let at = 0;', ...loop('c', c, loop('kh', kh, loop('kw', kw, [...bounds, ...rows])))]), '}'];
}

/**
 * Between an NCHW tensor's values [N, F, Ho·Wo] and the rows [F, P] a product gives or takes: `toRows` gathers
 * dy into rows; else the rows are stored into y, with the conv's bias and ReLU.
 */
export function rowLoops(k: ConvKernel, tensor: string, rows: string, toRows: boolean, bias?: string, relu?: boolean): string[] {
  const [n, f, ho, wo] = k.yShape;
  const positions = ho * wo;
  const tensorAt = `${tensor}[(n * ${f} + f) * ${positions} + q]`;
  const rowAt = `${rows}[(f * ${n} + n) * ${positions} + q]`;
  let value = `${rowAt}!`;
  if (bias) value = `${value} + ${bias}[f]!`;
  if (relu) value = `Math.max(0, ${value})`;
  const statement = toRows ? `${rowAt} = ${tensorAt}!;` : `${tensorAt} = ${value};`;
  return loop('n', n, loop('f', f, [`for (let q = 0; q < ${positions}; q++) ${statement}`]));
}
