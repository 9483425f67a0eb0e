import { FlatgradError } from '../errors/errors.ts';
import type { Tensor } from '../graph/graph.ts';
import { ancestors, isVariable } from '../graph/node.ts';
import { getOp, type NDArray } from '../ops/registry.ts';
import { resolveShape, sizeOf, type Dims } from '../shape/shape.ts';
import { bindDims } from '../graph/bind.ts';

export type Values = Readonly<Record<string, ArrayLike<number> | number>>;

/**
 * The reference interpreter: evaluates nodes one by one in float64 with no optimization.
 * Slow and obviously right: the oracle for tests. Params and inputs are looked up by name.
 */
export function interpret(targets: readonly Tensor[], options: { dims?: Dims; feeds?: Values; params?: Values }): Map<Tensor, NDArray> {
  const g = targets[0]!.graph;
  const needed = ancestors(g.nodes, targets);
  const order = g.nodes.filter((n) => needed.has(n));
  const dims = bindDims(order, options.dims ?? {}, 'interpret');
  const values = new Map<Tensor, NDArray>();
  for (const n of order) {
    const shape = resolveShape(n.shape, dims);
    let data: Float64Array;
    if (n.op === 'const') {
      const per = resolveShape((n.attrs.per as (string | number)[]) ?? [], dims);
      data = Float64Array.of((n.attrs.value as number) / sizeOf(per));
    } else if (isVariable(n)) {
      const source = n.op === 'input' ? options.feeds : options.params;
      const v = source?.[n.name];
      if (v === undefined) throw new FlatgradError(`interpret: no value for ${n.op} '${n.name}'`);
      data = Float64Array.from(typeof v === 'number' ? [v] : v);
      if (data.length !== sizeOf(shape)) throw new FlatgradError(`interpret: ${n.op} '${n.name}' has ${data.length} values, shape [${shape}] holds ${sizeOf(shape)}`);
    } else {
      data = getOp(n.op).evaluate(n.inputs.map((i) => values.get(i)!), n.attrs, shape);
    }
    values.set(n, { shape, data });
  }
  return values;
}
