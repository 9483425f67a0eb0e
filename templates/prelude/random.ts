/** A seeded generator of uniform numbers in [0, 1). */
export type Rng = () => number;

/** mulberry32: small, fast, and the same stream on every engine for the same seed. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sample (Box-Muller), like numpy's randn. */
export function randn(rng: Rng): number {
  let u = 0;
  while (u === 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

export function fill_randn(out: Float32Array | Float64Array, rng: Rng, std: number): void {
  for (let i = 0; i < out.length; i++) out[i] = std * randn(rng);
}
