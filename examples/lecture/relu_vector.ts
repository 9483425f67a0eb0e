// The lecture's ReLU on a vector: z = max(0, x); dL/dx from a given upstream dL/dz.
// A given upstream gradient u is the gradient of the scalar L = Σ z·u.
import { graph } from 'flatgrad';

const g = graph('relu_vector');
const x = g.input('x', [4]);
const upstream = g.input('upstream', [4]);
const z = x.relu().named('z');
const L = z.mul(upstream).sum().named('L');

// Readable mode: one statement per gate, as the lecture writes it.
export default { graph: g, loss: L, wrt: [x], outputs: { z }, optimize: false };
