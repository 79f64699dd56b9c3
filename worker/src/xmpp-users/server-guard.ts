import type { PrismaClient } from '../../../prisma/client.js';
import { checkDomain } from '../contracts/domain-name.js';
import { PermanentStepError } from '../provisioning/step-errors.js';

export type ServerForAccounts = { gone: true } | { gone: false; domain: string };

/**
 * The server a user or invite job acts on. A deleted server (or one being deleted) is `gone`:
 * its accounts went with its container. One that is not ready and meant to run is an error worth
 * retrying: it is still being provisioned, or coming back.
 */
export async function serverForAccounts(prisma: PrismaClient, serverId: string): Promise<ServerForAccounts> {
  const server = await prisma.server.findUnique({ where: { id: serverId }, select: { domain: true, state: true, desiredState: true, deletedAt: true } });
  if (!server || server.deletedAt || server.desiredState === 'deleted' || server.state === 'deprovisioning' || server.state === 'deleted') {
    return { gone: true };
  }
  if (server.state !== 'ready' || server.desiredState !== 'running') {
    throw new Error(`the server is not ready (it is ${server.state}, meant to be ${server.desiredState})`);
  }
  // The API validates too; this guards every side effect against a row written any other way.
  const domain = checkDomain(server.domain);
  if (!domain.ok) throw new PermanentStepError(`The domain is not acceptable: ${domain.reason}`);
  return { gone: false, domain: domain.domain };
}
