import type { ServerEvent } from '../api/types.js';
import type { ProvisionStep } from '../../../worker/src/contracts/provisioning.js';

/** The steps in the order they run, in the customer's words (the worker's list is the source). */
export const PROVISIONING_STEPS = [
  { step: 'allocate', title: 'Reserve a place and ports' },
  { step: 'dns', title: 'Publish DNS records' },
  { step: 'certificate', title: 'Get a TLS certificate' },
  { step: 'configure', title: 'Write the server configuration' },
  { step: 'container', title: 'Start the XMPP server' },
  { step: 'admin_account', title: 'Create the admin account' },
  { step: 'probe', title: 'Log in once to check' },
] as const satisfies readonly { step: ProvisionStep; title: string }[];

/**
 * The events of the server's latest setup: a server brought back after a deletion is set up anew,
 * and the steps it went through before the deletion say nothing about this setup.
 */
export function currentSetup<E extends Pick<ServerEvent, 'step'>>(events: readonly E[]): readonly E[] {
  return events.slice(events.findLastIndex((e) => e.step === 'deprovision') + 1);
}
