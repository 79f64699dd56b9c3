import { generatePassword } from '../crypto/generated-password.js';
import { markAdminCredentialApplied } from './admin-credential.js';
import { adminSecretContext } from '../contracts/secret-contexts.js';
import { isUniqueViolation } from '../../../prisma/errors.js';
import { prosodyCreateOrUpdateUser } from './prosody-accounts.js';
import { wipeSecrets } from '../crypto/sealed-secret.js';
import { loadServer, type StepDeps } from './step-deps.js';
import { trackedStep } from '../jobs/tracked-step.js';
import type { EventContext, Timeline } from './timeline.js';

/**
 * Issues admin credential number `issuance` and sets it in Prosody. The new secret is stored
 * before Prosody hears of it, and a re-run reuses it, so a crash never leaves two passwords.
 * Older issuances are wiped once the new one works.
 */
export async function resetAdminPassword(
  deps: StepDeps,
  timeline: Timeline,
  serverId: string,
  issuance: number,
  context: EventContext,
): Promise<string> {
  const server = await loadServer(deps.prisma, serverId);
  if (server.deletedAt || server.desiredState === 'deleted') return 'skipped: the server is being deleted';
  if (server.state !== 'ready') throw new Error(`the server is ${server.state}; the reset waits until it is ready`);
  return trackedStep({ timeline, serverId, step: 'admin_reset', title: 'Reset the admin password', context }, async () => {
    const previous = await deps.prisma.serverCredential.findFirstOrThrow({
      where: { serverId, kind: 'admin' },
      orderBy: { issuance: 'desc' },
    });
    if (previous.issuance < issuance - 1) throw new Error(`credential ${issuance - 1} does not exist yet`);
    let credential = await deps.prisma.serverCredential.findUnique({
      where: { serverId_kind_issuance: { serverId, kind: 'admin', issuance } },
      include: { secret: true },
    });
    if (!credential) {
      try {
        credential = await deps.prisma.serverCredential.create({
          data: {
            server: { connect: { id: serverId } },
            kind: 'admin',
            jid: previous.jid,
            issuance,
            secret: { create: deps.secrets.seal('admin_password', generatePassword(), adminSecretContext(serverId)) },
          },
          include: { secret: true },
        });
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        credential = await deps.prisma.serverCredential.findUniqueOrThrow({
          where: { serverId_kind_issuance: { serverId, kind: 'admin', issuance } },
          include: { secret: true },
        });
      }
    }
    const [username] = credential.jid.split('@');
    await prosodyCreateOrUpdateUser(deps.containers, serverId, {
      username: username ?? 'admin',
      domain: server.domain,
      password: deps.secrets.open(credential.secret, adminSecretContext(serverId)),
    });
    await markAdminCredentialApplied(deps.prisma, serverId, issuance);
    const older = await deps.prisma.serverCredential.findMany({ where: { serverId, kind: 'admin', issuance: { lt: issuance } }, select: { secretId: true } });
    await wipeSecrets(deps.prisma, older.map((c) => c.secretId));
    return `A new admin password (issuance ${issuance}) is set; the previous one no longer works`;
  });
}
