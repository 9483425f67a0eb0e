/** Every error flatgrad throws on bad user input. `site` is the user's file:line where it applies. */
export class FlatgradError extends Error {
  constructor(message: string, readonly site?: string) {
    super(site ? `${message}\n    at ${site}` : message);
    this.name = 'FlatgradError';
  }
}
