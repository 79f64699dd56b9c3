import { STEP_TITLE } from '../contracts/provisioning.js';
import type { Failpoints } from './failpoints.js';
import type { StepDeps } from './step-deps.js';
import { trackedStep } from '../jobs/tracked-step.js';
import type { EventContext, Timeline } from './timeline.js';
import { wipeSecrets } from '../crypto/sealed-secret.js';
import { revokeCertificates } from './certificate-revocation.js';
import { keepFinalBackup } from '../backups/final-backup.js';

/**
 * Removes everything a server had (container, volumes, DNS records the ledger owns, its
 * certificates, ports and secrets) and keeps its row and timeline. Every part is idempotent, so
 * a crash half-way is finished by the retry; a certificate the CA will not revoke is recorded and
 * does not hold the deletion up.
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
  // First, before anything that can fail or wait: a deletion that never finishes still leaves
  // no secret behind. Revocation needs only the platform's ACME account key and the chain.
  await wipeServerSecrets(deps, serverId);

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
      const kept = await keepFinalBackup(deps, serverId);
      await deps.containers.removeServer(serverId);
      const records = await deps.ledger.withdraw({ serverId });
      const revocation = await revokeCertificates(deps, timeline, serverId, context);
      await deps.prisma.portAllocation.deleteMany({ where: { serverId } });
      // Again: a step that was running when the first wipe ran may have sealed a new secret.
      await wipeServerSecrets(deps, serverId);
      await failpoints.hit('deprovision.after-effects');
      // With no grace period, the next purge forgets any earlier backups at once.
      await deps.prisma.server.update({ where: { id: serverId }, data: { purgeAfter: new Date(Date.now() + deps.settings.deletionGraceMs) } });
      const unrevoked = revocation.failed > 0 ? `; ${revocation.failed} could not be revoked (recorded on each)` : '';
      return `${kept}; removed the container and its volumes, ${records} DNS records; revoked ${revocation.revoked} certificate(s)${unrevoked}; ports and secrets released`;
    },
  );
}

async function wipeServerSecrets(deps: StepDeps, serverId: string): Promise<void> {
  // coturn refuses the server's TURN credentials from here on, even those handed out already.
  await deps.calls?.turnSecrets.remove(serverId);
  const [certificates, credentials, users, invites, turnSecrets] = await Promise.all([
    deps.prisma.certificate.findMany({ where: { serverId }, select: { privateKeyId: true } }),
    deps.prisma.serverCredential.findMany({ where: { serverId }, select: { secretId: true } }),
    deps.prisma.xmppUser.findMany({ where: { serverId }, select: { secretId: true } }),
    deps.prisma.invite.findMany({ where: { serverId }, select: { uriSecretId: true } }),
    deps.prisma.turnSecret.findMany({ where: { serverId }, select: { secretId: true } }),
  ]);
  const ids = [
    ...certificates.map((c) => c.privateKeyId),
    ...credentials.map((c) => c.secretId),
    ...users.map((u) => u.secretId),
    ...invites.map((i) => i.uriSecretId),
    ...turnSecrets.map((t) => t.secretId),
  ].filter((id): id is string => id !== null);
  await wipeSecrets(deps.prisma, ids);
}
