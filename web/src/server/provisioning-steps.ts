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
