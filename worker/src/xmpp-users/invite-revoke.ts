import type { InviteJob } from '../contracts/xmpp-user-jobs.js';
import { PermanentStepError } from '../provisioning/step-errors.js';
import type { XmppUsersDeps } from './deps.js';
import { prosodyRevokeInvite } from './prosody-invites.js';
import { serverForAccounts } from './server-guard.js';
import { wipeSecrets } from '../crypto/sealed-secret.js';

/**
 * Deletes the invite from Prosody's store, so its token no longer registers an account, then
 * marks the row revoked and wipes the sealed URI. The API asks by setting revokedAt.
 */
export async function revokeInvite(deps: XmppUsersDeps, job: InviteJob): Promise<string> {
  const invite = await deps.prisma.invite.findUnique({ where: { id: job.inviteId } });
  if (!invite) return 'Nothing to do: the invite no longer exists';
  if (invite.serverId !== job.serverId) throw new PermanentStepError('The invite does not belong to this server');
  if (!invite.revokedAt && invite.state !== 'revoked') return 'Nothing to do: revoking the invite was not requested';

  const server = await serverForAccounts(deps.prisma, invite.serverId);
  const removed = server.gone ? 0 : await prosodyRevokeInvite(deps.containers, invite.serverId, { domain: server.domain, tag: invite.id });
  await deps.prisma.$transaction(async (tx) => {
    // A redeemed or expired invite keeps its state: revoking it changed nothing in Prosody.
    await tx.invite.updateMany({
      where: { id: invite.id, state: { in: ['pending', 'active', 'failed'] } },
      data: { state: 'revoked', revokedAt: invite.revokedAt ?? new Date(), lastError: null },
    });
    const current = await tx.invite.findUniqueOrThrow({ where: { id: invite.id }, select: { uriSecretId: true } });
    if (current.uriSecretId) await wipeSecrets(tx, [current.uriSecretId]);
  });
  if (server.gone) return 'Revoked the invite: its server is deleted';
  return removed > 0 ? 'Revoked the invite' : 'Revoked the invite; the server held nothing pending for it (already used, expired, or never created)';
}
