/**
 * A failure that retrying cannot fix (bad input, a refused name, no capacity): the step stops
 * at once with this message on the timeline instead of retrying for minutes.
 */
export class PermanentStepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentStepError';
  }
}
