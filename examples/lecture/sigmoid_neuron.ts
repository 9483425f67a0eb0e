// The lecture's sigmoid neuron: f(w, x) = σ(w0·x0 + w1·x1 + w2), the "flat" backprop example.
import { graph } from 'flatgrad';

const g = graph('sigmoid_neuron');
const w0 = g.param('w0', [], { init: 2 });
const x0 = g.input('x0', []);
const w1 = g.param('w1', [], { init: -3 });
const x1 = g.input('x1', []);
const w2 = g.param('w2', [], { init: -3 });
const L = w0.mul(x0).add(w1.mul(x1)).add(w2).sigmoid().named('L');

// Readable mode: one statement per gate, as the lecture writes it.
export default { graph: g, loss: L, wrt: [w0, x0, w1, x1, w2], optimize: false };
