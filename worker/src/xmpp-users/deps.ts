import type { StepDeps } from '../provisioning/step-deps.js';

/** What user and invite jobs touch: a subset of the provisioning steps' deps, so those can be passed as is. */
export type XmppUsersDeps = Pick<StepDeps, 'prisma' | 'secrets' | 'containers'>;
