/** An integer input used as labels or row indices must stay in [0, bound). */
export function check_indices(values: Int32Array, bound: number, name: string): void {
  for (let i = 0; i < values.length; i++) {
    if (values[i] < 0 || values[i] >= bound) throw new Error(`feed '${name}': ${name}[${i}] is ${values[i]}, outside [0, ${bound})`);
  }
}
