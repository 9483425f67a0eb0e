// The course's conv → ReLU → max pool layer (conv_relu_pool_forward / _backward): a 3×3 conv with padding 1 and a
// bias, a ReLU, a 2×2 max pool, against a given upstream gradient. Readable mode: the naive layers' loops.
import { graph } from 'flatgrad';

const g = graph('conv_relu_pool');
const x = g.input('x', [2, 3, 6, 6]);
const w = g.input('w', [4, 3, 3, 3]);
const b = g.input('b', [4]);
const upstream = g.input('upstream', [2, 4, 3, 3]);
const conv = x.conv2d(w, { padding: 1 }).add(b.reshape([1, 4, 1, 1])).named('conv');
const out = conv.relu().maxPool2d({ kernel: 2 }).named('out');
const L = out.mul(upstream).sum().named('L');

export default { graph: g, loss: L, wrt: [x, w, b], outputs: { out }, optimize: false };
