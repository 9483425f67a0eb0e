import { columnsKey, convAsProduct, reads } from '../ir/kernel.ts';
import type { MemoryPlan, Program } from './program.ts';

/** Where every buffer lives in one arena: byte offsets, 16-byte aligned (what Wasm SIMD loads want). */
const align = (n: number) => Math.ceil(n / 16) * 16;

/** A byte count as a person reads it: 1.2 GiB, 340 KiB, 96 bytes. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let k = 0;
  let v = bytes;
  for (; v >= 1024 && k < units.length - 1; k++) v /= 1024;
  return k === 0 ? `${bytes} bytes` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[k]}`;
}

/**
 * Assign buffers by liveness. Params, optimizer state, inputs and exported values (loss, grads, outputs) keep their own
 * space for good; every other value is live from the kernel that writes it to the last one that reads it
 * (the backward pass comes after the forward one), and a later value may take the space of one already dead.
 * Forward values the backward pass reads are never reused, so backward() may be called again.
 */
export function planMemory(p: Program, elementBytes: number): MemoryPlan {
  const target = new Map(p.aliases.map((a) => [a.name, a.of]));
  const resolve = (name: string): string => {
    while (target.has(name)) name = target.get(name)!;
    return name;
  };
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
  // Slots in use, by when they become free; free slots by size, the first made first. A buffer takes the smallest
  // free slot that holds it (the first made, on ties), else a new one at the end of the arena.
  const busy = new Heap<Slot>((a, b) => a.freeAfter - b.freeAfter);
  const free = new Map<number, Heap<Slot>>();
  const sizes: number[] = []; // the sizes of `free`, ascending
  const release = (slot: Slot) => {
    let bucket = free.get(slot.size);
    if (!bucket) {
      free.set(slot.size, (bucket = new Heap<Slot>((a, b) => a.id - b.id)));
      sizes.splice(lowerBound(sizes, slot.size), 0, slot.size);
    }
    bucket.push(slot);
  };
  const take = (size: number): Slot | undefined => {
    for (let k = lowerBound(sizes, size); k < sizes.length; k++) {
      const slot = free.get(sizes[k]!)!.pop();
      if (slot) return slot;
    }
    return undefined;
  };
  let slots = 0;
  const planned = [...p.buffers].sort((a, b) => (first.get(a.name) ?? -1) - (first.get(b.name) ?? -1));
  for (const b of planned) {
    const size = align(b.size * (b.node.dtype === 'i32' ? 4 : elementBytes));
    withoutReuse += size;
    if (exported.has(b.name) || !first.has(b.name)) {
      place(b.name, size);
      continue;
    }
    const start = first.get(b.name)!;
    while (busy.size && busy.peek()!.freeAfter < start) release(busy.pop()!);
    // A forward value the backward pass reads stays put, so backward() can run twice after one forward().
    const freeAfter = start < p.forward.length && last.get(b.name)! >= p.forward.length ? Infinity : last.get(b.name)!;
    let slot = take(size);
    if (slot) offsets.set(b.name, slot.offset);
    else {
      slot = { id: slots++, offset: bytes, size, freeAfter };
      place(b.name, size);
    }
    slot.freeAfter = freeAfter;
    if (freeAfter !== Infinity) busy.push(slot);
  }
  withoutReuse += [...p.params, ...p.state, ...p.inputs].reduce((s, l) => s + align(l.size * (l.dtype === 'i32' ? 4 : elementBytes)), 0);
  const convs = p.spec.wasm && elementBytes === 4 ? steps.flatMap(({ kernel }) => (kernel.kind === 'conv' && convAsProduct(kernel) ? [kernel] : [])) : [];
  if (convs.length === 0) return { bytes, withoutReuse, offsets };
  const products = convs.map((k) => convAsProduct(k)!);
  const area = (floats: number) => {
    const at = { offset: bytes, floats };
    bytes += align(4 * floats);
    return at;
  };
  const columns = area(Math.max(...products.map((c) => c.k * c.p)));
  const rows = area(Math.max(...products.map((c) => c.f * c.p)));
  // A forward conv whose weight gradient is taken keeps its columns until then: the gradient's im2col is the same.
  const firstConv = new Map<string, number>();
  convs.forEach((k, j) => { if (k.writes === 'y' && !firstConv.has(columnsKey(k))) firstConv.set(columnsKey(k), j); });
  const after = convs.filter((k, j) => k.writes === 'w' && j > (firstConv.get(columnsKey(k)) ?? Infinity)).map(columnsKey);
  const kept = new Map([...new Set(after)].map((key) => {
    const { k, p } = convAsProduct(convs[firstConv.get(key)!]!)!;
    return [key, area(k * p)];
  }));
  return { bytes, withoutReuse, offsets, scratch: { columns, rows, kept } };
}

interface Slot {
  /** The order slots were made in. */
  readonly id: number;
  readonly offset: number;
  readonly size: number;
  /** The last step that reads what the slot holds now. */
  freeAfter: number;
}

/** The first index of the ascending `sorted` whose value is at least `v`. */
function lowerBound(sorted: readonly number[], v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A binary min-heap. */
class Heap<T> {
  private readonly items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => number) {}

  get size(): number {
    return this.items.length;
  }
  peek(): T | undefined {
    return this.items[0];
  }
  push(item: T): void {
    const a = this.items;
    a.push(item);
    for (let k = a.length - 1; k > 0; ) {
      const parent = (k - 1) >> 1;
      if (this.less(a[k]!, a[parent]!) >= 0) break;
      [a[k], a[parent]] = [a[parent]!, a[k]!];
      k = parent;
    }
  }
  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const end = a.pop();
    if (a.length === 0 || end === undefined) return top;
    a[0] = end;
    for (let k = 0; ; ) {
      const l = 2 * k + 1;
      const r = l + 1;
      let m = k;
      if (l < a.length && this.less(a[l]!, a[m]!) < 0) m = l;
      if (r < a.length && this.less(a[r]!, a[m]!) < 0) m = r;
      if (m === k) break;
      [a[k], a[m]] = [a[m]!, a[k]!];
      k = m;
    }
    return top;
  }
}
