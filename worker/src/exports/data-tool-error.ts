/** Prosody's migrator failed or did not finish; the message holds the end of its log, for operators. */
export class DataToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataToolError';
  }
}
