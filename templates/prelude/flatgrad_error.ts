/**
 * Every error this module throws is a FlatgradError, like flatgrad's own: `e.name === 'FlatgradError'`, and
 * `e instanceof FlatgradError` holds for flatgrad's exported class. The module stays self-contained.
 */
export function flatgrad_error(message: string): Error {
  const e = new Error(message);
  e.name = 'FlatgradError';
  return e;
}
