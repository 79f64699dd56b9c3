import { STEP_TITLE } from '../contracts/provisioning.js';
import type { Failpoints } from './failpoints.js';
import type { StepDeps } from './step-deps.js';
import { trackedStep } from '../jobs/tracked-step.js';
import type { EventContext, Timeline } from './timeline.js';
import { wipeSecrets } from '../crypto/sealed-secret.js';

/**
 * Removes everything a server had (container, volumes, DNS records the ledger owns, its
 * certificates, ports and secrets) and keeps its row and timeline. Every part is idempotent, so
 * a crash half-way is finished by the retry.
 */
export async function deprovision(
  deps: StepDeps,
  timeline: Timeline,
  serverId: string,
  context: EventContext,
  failpoints: Failpoints,
): Promise<string> {
  const server = await deps.prisma.server.findUnique({ where: { id: serverId } });
  if (!server) return 'nothing to remove: no such server';
  if (server.state === 'deleted') return 'already removed';

  // A step still running would recreate what we remove; wait for it (its successors see the
  // deletion and cancel themselves).
  const active = await deps.jobs.activeStep(serverId);
  if (active) throw new Error(`waiting for the running step "${active}" to finish before removing the server`);

  await timeline.setState(serverId, 'deprovisioning');
  return trackedStep(
    {
      timeline,
      serverId,
      step: 'deprovision',
      title: STEP_TITLE.deprovision,
      context,
      onSuccess: () => timeline.setState(serverId, 'deleted'),
    },
    async () => {
      await deps.containers.removeServer(serverId);
      const records = await deps.ledger.withdraw(serverId);
      const revoked = await revokeCertificates(deps, serverId);
      await deps.prisma.portAllocation.deleteMany({ where: { serverId } });
      await wipeServerSecrets(deps, serverId);
      await failpoints.hit('deprovision.after-effects');
      return `Removed the container and its volumes, ${records} DNS records and ${revoked} certificate(s); ports and secrets released`;
    },
  );
}

async function revokeCertificates(deps: StepDeps, serverId: string): Promise<number> {
  const certificates = await deps.prisma.certificate.findMany({
    where: { serverId, status: { in: ['active', 'superseded'] }, chainPem: { not: null } },
    include: { acmeAccount: { include: { key: true } } },
  });
  for (const certificate of certificates) {
    if (certificate.chainPem && certificate.acmeAccount) {
      const accountKeyPem = deps.secrets.open(certificate.acmeAccount.key, `acme_account_key:${certificate.acmeAccount.directoryUrl}`);
      await deps.ca.revoke(certificate.chainPem, accountKeyPem);
    }
    await deps.prisma.certificate.update({ where: { id: certificate.id }, data: { status: 'revoked', revokedAt: new Date() } });
  }
  return certificates.length;
}

async function wipeServerSecrets(deps: StepDeps, serverId: string): Promise<void> {
  const [certificates, credentials, users, invites] = await Promise.all([
    deps.prisma.certificate.findMany({ where: { serverId }, select: { privateKeyId: true } }),
    deps.prisma.serverCredential.findMany({ where: { serverId }, select: { secretId: true } }),
    deps.prisma.xmppUser.findMany({ where: { serverId }, select: { secretId: true } }),
    deps.prisma.invite.findMany({ where: { serverId }, select: { uriSecretId: true } }),
  ]);
  const ids = [
    ...certificates.map((c) => c.privateKeyId),
    ...credentials.map((c) => c.secretId),
    ...users.map((u) => u.secretId),
    ...invites.map((i) => i.uriSecretId),
  ].filter((id): id is string => id !== null);
  await wipeSecrets(deps.prisma, ids);
}
