/** Feeds must be an object naming only the model's inputs: a misspelt or stray key is an error, not ignored. */
export function check_feeds(feeds: object, names: readonly string[]): void {
  if (typeof feeds !== 'object' || feeds === null) throw new Error(`feeds must be an object { ${names.join(', ')} }, got ${feeds === null ? 'null' : typeof feeds}`);
  for (const key in feeds) {
    if (!names.includes(key)) throw new Error(`unknown feed '${key}': this model is fed ${names.length ? names.map((n) => `'${n}'`).join(', ') : 'nothing'}`);
  }
}
