// The TypeScript kernel backend of the CPU host: every kernel as the TypeScript renderer's loops, with a comment
// saying what it computes. It runs any kernel, so it is the host's last choice.
import type { Node } from '../../graph/graph.ts';
import type { ConvKernel, Kernel, PoolKernel } from '../../ir/kernel.ts';
import { getOp } from '../../ops/registry.ts';
import type { KernelBackend } from '../backend.ts';
import type { ModuleNames } from '../identifiers.ts';
import type { ExprPrinter } from '../typescript/expr.ts';
import { mapLoops, matmulCall, matmulComment, reduceLoops } from '../typescript/loops.ts';
import { convLoops, poolLoops } from '../typescript/windows.ts';

/** What the backend asks of its host: names, its expression printer, and a value's text for comments. */
export interface TypeScriptHost extends ModuleNames {
  readonly exprs: ExprPrinter;
  valueText(n: Node): string;
}

export class TypeScriptKernels implements KernelBackend {
  constructor(private readonly host: TypeScriptHost) {}

  runs(): boolean {
    return true;
  }

  call(kernel: Kernel, node?: Node): string[] {
    const { host } = this;
    const id = (b: string) => host.id(b);
    switch (kernel.kind) {
      case 'map': {
        // Elementwise code says what it does; layout ops get a note.
        const note = !node || node.op === 'const' || getOp(node.op).elementwise ? '' : ` // ${id(node.name)} = ${node.op}(${node.inputs.map((i) => host.valueText(i)).join(', ')})`;
        return mapLoops(kernel, host.exprs, note);
      }
      case 'reduce': {
        const kept = kernel.shape.length - kernel.axes.length;
        const comment = `// ${id(kernel.out)} = ${node!.op}(${host.valueText(node!.inputs[0]!)}${kept === 0 ? '' : `, axes [${kernel.axes.join(', ')}]`})`;
        return reduceLoops(kernel, host.exprs, comment);
      }
      case 'matmul': {
        const k = kernel;
        const named = { ...k, a: id(k.a), b: id(k.b), out: id(k.out), ...(k.bias ? { bias: id(k.bias) } : {}) };
        return [`${matmulCall(named, (h) => host.use(h))};${matmulComment(k, id)}`];
      }
      case 'conv':
        return convLoops(kernel, id, this.windowComment(kernel, node!));
      case 'pool':
        return poolLoops(kernel, id, this.windowComment(kernel, node!));
    }
  }

  /** `// y = conv2d(x, w): stride 2, padding 1`, the geometry that is not the default, and the epilogue. */
  private windowComment(k: ConvKernel | PoolKernel, node: Node): string {
    const { host } = this;
    const pair = (p: readonly [number, number]) => (p[0] === p[1] ? String(p[0]) : `[${p.join(', ')}]`);
    const end = node.attrs.paddingEnd as readonly [number, number] | undefined;
    const padding = end && (end[0] !== k.padding[0] || end[1] !== k.padding[1]) ? `[[${k.padding[0]}, ${end[0]}], [${k.padding[1]}, ${end[1]}]]` : pair(k.padding);
    const geometry = [
      ...(k.kind === 'pool' ? [`kernel ${pair(k.kernel)}`] : []),
      ...(k.stride.some((s) => s !== 1) || k.kind === 'pool' ? [`stride ${pair(k.stride)}`] : []),
      ...(k.padding.some((p) => p !== 0) || (end ?? []).some((p) => p !== 0) ? [`padding ${padding}`] : []),
      ...(k.dilation.some((d) => d !== 1) ? [`dilation ${pair(k.dilation)}`] : []),
      ...(k.kind === 'conv' && k.groups > 1 ? [`groups ${k.groups}`] : []),
      ...(k.kind === 'pool' && k.op === 'avg' && !k.countIncludePad ? ['countIncludePad false'] : []),
    ];
    const call = `${node.op}(${node.inputs.map((i) => host.valueText(i)).join(', ')})`;
    const bias = k.kind === 'conv' && k.bias ? ` + ${host.id(k.bias)}` : '';
    const value = k.kind === 'conv' && k.relu ? `relu(${call}${bias})` : `${call}${bias}`;
    return `// ${host.id(k.out)} = ${value}${geometry.length ? `: ${geometry.join(', ')}` : ''}`;
  }
}
