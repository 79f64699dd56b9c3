import { describeForeignRecords } from '../contracts/server-dns-names.js';

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

/** The server's name already has DNS records Parley did not create: it cannot take the name. */
export class DnsNameTakenError extends PermanentStepError {
  constructor(domain: string, foreign: readonly { name: string; type: string; value: string }[]) {
    super(`${domain} already has DNS records that Parley did not create (${describeForeignRecords(foreign)}), so this server cannot use the name; nothing was published. Delete this server and order one under another name.`);
    this.name = 'DnsNameTakenError';
  }
}

/** No node can take the server (none registered, or no free ports): an operator must add room. */
export class NoCapacityError extends PermanentStepError {
  constructor(message: string) {
    super(message);
    this.name = 'NoCapacityError';
  }
}
