// The localpart grammar for accounts Parley creates, shared by the API (which refuses a bad name
// with a 400) and the worker (which never hands Prosody a name that did not pass it).

// Lowercase only, like the domain grammar: Prosody's nodeprep would fold case anyway, and one
// spelling per account keeps the API and Prosody in agreement.
const USERNAME = /^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$/;

export const USERNAME_RULE =
  'A username may contain 1-64 lowercase letters a-z, digits, dots, hyphens and underscores, and must start and end with a letter or digit.';

export class InvalidUsernameError extends Error {
  constructor() {
    super(USERNAME_RULE);
    this.name = 'InvalidUsernameError';
  }
}

export function isValidUsername(input: string): boolean {
  return typeof input === 'string' && USERNAME.test(input) && !input.includes('..');
}

/** For code paths that must never see an invalid username; throws with the rule otherwise. */
export function assertUsername(input: string): string {
  if (!isValidUsername(input)) throw new InvalidUsernameError();
  return input;
}
