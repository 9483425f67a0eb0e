// A LeNet-style convnet for MNIST (examples/mnist_conv.ts trains it): conv 5×5 → ReLU → 2×2 max pool → conv 5×5 →
// ReLU → 2×2 max pool → dense → ReLU → dense 10, softmax cross-entropy, Adam; activations NCHW, weights OIHW.
import { graph } from 'flatgrad';

export const C1 = 16, C2 = 32, H = 128; // filters of the two convs, hidden units of the dense layer

const g = graph('mnist_convnet');
const x = g.input('x', ['N', 1, 28, 28]);
const labels = g.input('labels', ['N'], 'i32');
const conv1 = g.param('conv1', [C1, 1, 5, 5], { init: 'he' });
const bias1 = g.param('bias1', [C1], { init: 'zeros' });
const conv2 = g.param('conv2', [C2, C1, 5, 5], { init: 'he' });
const bias2 = g.param('bias2', [C2], { init: 'zeros' });
const w3 = g.param('w3', [C2 * 4 * 4, H], { init: 'he' });
const b3 = g.param('b3', [H], { init: 'zeros' });
const w4 = g.param('w4', [H, 10], { init: 'he' });
const b4 = g.param('b4', [10], { init: 'zeros' });

const h1 = x.conv2d(conv1).add(bias1.reshape([1, C1, 1, 1])).relu().maxPool2d({ kernel: 2 }).named('h1'); // [N, C1, 12, 12]
const h2 = h1.conv2d(conv2).add(bias2.reshape([1, C2, 1, 1])).relu().maxPool2d({ kernel: 2 }).named('h2'); // [N, C2, 4, 4]
const h3 = h2.reshape(['N', C2 * 4 * 4]).matmul(w3).add(b3).relu().named('h3');
const scores = h3.matmul(w4).add(b4).named('scores');
const loss = scores.softmaxCrossEntropy(labels).named('loss');

export default { graph: g, loss, outputs: { scores }, dims: { N: 64 }, optimizer: { adam: {} } } as const;
