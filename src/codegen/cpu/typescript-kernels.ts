// The TypeScript kernel backend of the CPU host: every kernel as the TypeScript renderer's loops, with a comment
// saying what it computes. It runs any kernel, so it is the host's last choice.
import type { Node } from '../../graph/graph.ts';
import type { Kernel } from '../../ir/kernel.ts';
import { getOp } from '../../ops/registry.ts';
import type { KernelBackend } from '../backend.ts';
import type { ModuleNames } from '../identifiers.ts';
import type { ExprPrinter } from '../typescript/expr.ts';
import { mapLoops, matmulCall, matmulComment, reduceLoops } from '../typescript/loops.ts';

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
    }
  }
}
