// The browser demo's net, a model file the Vite plugin (flatgrad/vite) turns into its generated module at build
// time: 2 → H (ReLU) → 3 on the lecture's spiral, mean softmax cross-entropy plus λ·ΣW². λ is an input, so the page
// changes it between steps with no recompile; H is a dim, so each hidden size is its own prebuilt module, imported as
// './spiral.model.ts?H=10&flatgrad'. N is the whole data set: full-batch steps, as in CS231n's spiral notes.
import { graph } from 'flatgrad';

const g = graph('spiral');
const x = g.input('x', ['N', 2]);
const labels = g.input('labels', ['N'], 'i32');
const lambda = g.input('lambda', []);
const w1 = g.param('w1', [2, 'H'], { init: 'he' });
const b1 = g.param('b1', ['H'], { init: 'zeros' });
const w2 = g.param('w2', ['H', 3], { init: 'he' });
const b2 = g.param('b2', [3], { init: 'zeros' });
const hidden = x.matmul(w1).add(b1).relu().named('hidden');
const scores = hidden.matmul(w2).add(b2).named('scores');
const loss = scores.softmaxCrossEntropy(labels).add(w1.square().sum().add(w2.square().sum()).mul(lambda)).named('loss');

export default { graph: g, loss, outputs: { scores }, dims: { N: 300, H: 100 } };
