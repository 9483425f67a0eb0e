import { reads } from './kernel.ts';
import type { Program } from './lower.ts';

/** Where every buffer lives in one arena: byte offsets, 16-byte aligned (what Wasm SIMD loads want). */
export interface MemoryPlan {
  /** The arena's size. */
  readonly bytes: number;
  /** What one buffer per value would take. */
  readonly withoutReuse: number;
  readonly offsets: ReadonlyMap<string, number>;
}

const align = (n: number) => Math.ceil(n / 16) * 16;

/**
 * Assign buffers by liveness. Params, optimizer state, inputs and exported values (loss, grads, outputs) keep their own
 * space for good; every other value is live from the kernel that writes it to the last one that reads it
 * (the backward pass comes after the forward one), and a later value may take the space of one already dead.
 * Forward values the backward pass reads are never reused, so backward() may be called again.
 */
export function planMemory(p: Program, elementBytes: number): MemoryPlan {
  const target = new Map(p.aliases.map((a) => [a.name, a.of]));
  const resolve = (name: string): string => (target.has(name) ? resolve(target.get(name)!) : name);
  const exported = new Set([...(p.loss ? [p.loss] : []), ...p.grads.values(), ...p.outputs.values()].map((n) => resolve(n.name)));
  const steps = [...p.forward, ...p.backward];
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  steps.forEach(({ kernel }, k) => {
    for (const name of [kernel.out, ...reads(kernel)].map(resolve)) {
      if (!first.has(name)) first.set(name, k);
      last.set(name, k);
    }
  });
  const offsets = new Map<string, number>();
  let bytes = 0;
  let withoutReuse = 0;
  const place = (name: string, size: number) => {
    offsets.set(name, bytes);
    bytes += align(size);
  };
  for (const l of [...p.params, ...p.state, ...p.inputs]) place(l.name, l.size * (l.dtype === 'i32' ? 4 : elementBytes));
  const slots: { offset: number; size: number; freeAfter: number }[] = [];
  const planned = [...p.buffers].sort((a, b) => (first.get(a.name) ?? -1) - (first.get(b.name) ?? -1));
  for (const b of planned) {
    const size = align(b.size * (b.node.dtype === 'i32' ? 4 : elementBytes));
    withoutReuse += size;
    if (exported.has(b.name) || !first.has(b.name)) {
      place(b.name, size);
      continue;
    }
    const start = first.get(b.name)!;
    const slot = slots.filter((s) => s.freeAfter < start && s.size >= size).sort((x, y) => x.size - y.size)[0];
    // A forward value the backward pass reads stays put, so backward() can run twice after one forward().
    const freeAfter = start < p.forward.length && last.get(b.name)! >= p.forward.length ? Infinity : last.get(b.name)!;
    if (slot) {
      offsets.set(b.name, slot.offset);
      slot.freeAfter = freeAfter;
    } else {
      slots.push({ offset: bytes, size, freeAfter });
      place(b.name, size);
    }
  }
  withoutReuse += [...p.params, ...p.state, ...p.inputs].reduce((s, l) => s + align(l.size * (l.dtype === 'i32' ? 4 : elementBytes)), 0);
  return { bytes, withoutReuse, offsets };
}
