// The lecture's first example: f(x, y, z) = (x + y) · z.
import { graph } from 'flatgrad';

const g = graph('add_mul');
const x = g.input('x', []);
const y = g.input('y', []);
const z = g.input('z', []);
const q = x.add(y).named('q');
const f = q.mul(z).named('f');

// Readable mode: one statement per gate, as the lecture writes it.
export default { graph: g, loss: f, wrt: [x, y, z], outputs: { q }, optimize: false };
