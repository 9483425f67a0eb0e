/** A matrix product c = op(a) · op(b) (+ a bias row, then ReLU, when the kernel has them) on buffers of the model's memory. */
export type Gemm = (a: Float32Array, b: Float32Array, c: Float32Array, bias?: Float32Array) => void;

/**
 * The embedded WebAssembly SIMD kernels, instantiated on the model's memory: the relaxed-SIMD build
 * (fused multiply-add) where the engine validates it, else plain SIMD, else none (the TypeScript loops). Kernels
 * built for threads import a shared memory; given a plain one (a page that is not cross-origin isolated) they
 * import it plain, and run on one thread.
 */
export function load_kernels(plain: string, relaxed: string, memory: WebAssembly.Memory, enabled: boolean): { module?: WebAssembly.Module; exports?: WebAssembly.Exports; kind: string } {
  if (!enabled || typeof WebAssembly !== 'object') return { kind: 'typescript' };
  for (const [kind, text] of [['wasm-relaxed-simd', relaxed], ['wasm-simd', plain]] as const) {
    const bytes = decode_base64(text);
    // (Not `instanceof`: a page that is not cross-origin isolated has no SharedArrayBuffer global.)
    if (Object.prototype.toString.call(memory.buffer) !== '[object SharedArrayBuffer]') unshare_memory(bytes);
    if (!WebAssembly.validate(bytes)) continue;
    const module = new WebAssembly.Module(bytes);
    try {
      return { module, exports: new WebAssembly.Instance(module, { env: { memory } }).exports, kind };
    } catch {
      return { kind: 'typescript' };
    }
  }
  return { kind: 'typescript' };
}

/** Clears the shared flag of the module's one import, its memory's limits (the kernels use no atomics). */
function unshare_memory(bytes: Uint8Array): void {
  let at = 8;
  const leb = (): number => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[at++]!;
      value += (byte & 127) * 2 ** shift;
      if (byte < 128) return value;
    }
  };
  while (at < bytes.length) {
    const id = bytes[at++]!;
    const end = leb() + at;
    if (id === 2) {
      leb(); // one import: env.memory
      for (let name = 0; name < 2; name++) {
        const length = leb();
        at += length;
      }
      if (bytes[at++] === 2) bytes[at]! &= ~2;
      return;
    }
    at = end;
  }
}

function decode_base64(text: string): Uint8Array<ArrayBuffer> {
  const digits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const clean = text.replace(/=+$/, '');
  const out = new Uint8Array((clean.length * 3) >> 2);
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const ch of clean) {
    value = (value << 6) | digits.indexOf(ch);
    bits += 6;
    if (bits >= 8) out[at++] = (value >> (bits -= 8)) & 255;
  }
  return out;
}
