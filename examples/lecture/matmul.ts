// The lecture's matrix multiply: y = x·w; dL/dx = dL/dy·wᵀ and dL/dw = xᵀ·dL/dy for a given upstream dL/dy.
import { graph } from 'flatgrad';

const g = graph('matmul');
const x = g.input('x', [2, 3]);
const w = g.input('w', [3, 4]);
const upstream = g.input('upstream', [2, 4]);
const y = x.matmul(w).named('y');
const L = y.mul(upstream).sum().named('L');

// Readable mode: one statement per gate, as the lecture writes it.
export default { graph: g, loss: L, wrt: [x, w], outputs: { y }, optimize: false };
