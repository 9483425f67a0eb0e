import { FlatgradError } from './errors.ts';
import type { Site } from './source.ts';

/**
 * Every object has these (constructor, toString, __proto__, …): `feeds.constructor` is found even when not fed, so
 * no name (of a value, a dim or an op) may be one.
 */
export const inherited: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

/**
 * A name for a value: an identifier. Any identifier will do, `Number` and `for` included: where a name would
 * shadow what a generated module uses itself, the module's code calls it something else
 * (src/codegen/identifiers.ts), and params, feeds and messages still use the name given.
 */
export function checkName(name: unknown, what: string, site: string | Site): string {
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new FlatgradError(`${what}: name ${typeof name === 'string' ? JSON.stringify(name) : String(name)} is not an identifier (letters, digits and _, not starting with a digit)`, site);
  }
  if (inherited.has(name)) {
    throw new FlatgradError(`${what}: name '${name}' is a property every JavaScript object inherits, so a missing feed or value of that name would go unnoticed; choose another`, site);
  }
  return name;
}
