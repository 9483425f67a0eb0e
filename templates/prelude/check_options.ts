import { flatgrad_error } from './flatgrad_error.ts';

/**
 * What is wrong with an options object, or undefined: a key it does not know would otherwise change nothing in
 * silence (`optimiser` trains with the default optimizer), so it is named with the nearest known key.
 */
export function option_problem(options: unknown, known: readonly string[], where: string): string | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    return `${where}: options must be an object { ${known.join(', ')} }, got ${Array.isArray(options) ? 'an array' : options === null ? 'null' : typeof options}`;
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = nearest_key(key, known);
    return `${where}: unknown option '${key}'${near === undefined ? '' : ` — did you mean '${near}'?`} (the options are ${known.map((k) => `'${k}'`).join(', ')})`;
  }
  return undefined;
}

/** Throws the options' problem, if any, as a FlatgradError. */
export function check_options(options: unknown, known: readonly string[], where: string): void {
  const problem = option_problem(options, known, where);
  if (problem !== undefined) throw flatgrad_error(problem);
}

/** The known key within a few edits of `key` (letters swapped, dropped, added or changed, case ignored), if one is. */
export function nearest_key(key: string, known: readonly string[]): string | undefined {
  const most = key.length <= 3 ? 1 : key.length <= 6 ? 2 : 3;
  let best: string | undefined;
  let least = Infinity;
  for (const k of known) {
    const d = option_edits(key.toLowerCase(), k.toLowerCase());
    if (d <= most && d < least) [best, least] = [k, d];
  }
  return best;
}

/** Optimal string alignment distance: Levenshtein's edits, and a swap of two neighbouring letters as one. */
function option_edits(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
