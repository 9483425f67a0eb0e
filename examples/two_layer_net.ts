// The lecture's two-layer net: h = σ(x·w1), y_pred = h·w2, loss = Σ (y_pred − y)².
import { graph } from 'flatgrad';

const g = graph('two_layer_net');
const x = g.input('x', ['N', 'D_in']);
const y = g.input('y', ['N', 'D_out']);
const w1 = g.param('w1', ['D_in', 'H'], { init: 'randn' });
const w2 = g.param('w2', ['H', 'D_out'], { init: 'randn' });

const h = x.matmul(w1).sigmoid().named('h');
const y_pred = h.matmul(w2).named('y_pred');
const loss = y_pred.sub(y).square().sum().named('loss');

export default { graph: g, loss, dims: { N: 64, D_in: 1000, H: 100, D_out: 10 } };
