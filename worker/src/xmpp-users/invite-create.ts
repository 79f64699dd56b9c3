import { inviteUriContext, type InviteJob } from '../contracts/xmpp-user-jobs.js';
import { PermanentStepError } from '../provisioning/step-errors.js';
import type { XmppUsersDeps } from './deps.js';
import { InviteExpiredError, prosodyMintInvite, prosodyRevokeInvite } from './prosody-invites.js';
import { serverForAccounts } from './server-guard.js';

/**
 * Mints the invite in Prosody, expiring when the row says, and stores its URI sealed on the row
 * (state active, expiresAt = the second Prosody enforces). A row that already has its URI is
 * left alone; a retry after a crash finds the invite Prosody already holds for this row.
 */
export async function createInvite(deps: XmppUsersDeps, job: InviteJob): Promise<string> {
  const invite = await deps.prisma.invite.findUnique({ where: { id: job.inviteId } });
  if (!invite) return 'Nothing to do: the invite no longer exists';
  if (invite.serverId !== job.serverId) throw new PermanentStepError('The invite does not belong to this server');
  if (invite.uriSecretId) return 'The invite was already created';
  if (invite.revokedAt || invite.state !== 'pending') return `Nothing to do: the invite is ${invite.revokedAt ? 'revoked' : invite.state}`;

  const server = await serverForAccounts(deps.prisma, invite.serverId);
  if (server.gone) throw new PermanentStepError('The server has been deleted');
  let minted;
  try {
    minted = await prosodyMintInvite(deps.containers, invite.serverId, { domain: server.domain, tag: invite.id, expiresAt: invite.expiresAt });
  } catch (error) {
    if (error instanceof InviteExpiredError) {
      await deps.prisma.invite.updateMany({ where: { id: invite.id, state: 'pending' }, data: { state: 'expired', lastError: error.message } });
    }
    throw error;
  }

  const sealed = deps.secrets.seal('invite_uri', minted.uri, inviteUriContext(invite.id));
  try {
    await deps.prisma.invite.update({
      // uriSecretId is a unique field, which Prisma only lets a where clause test for null under AND.
      where: { id: invite.id, state: 'pending', revokedAt: null, AND: { uriSecretId: null } },
      data: { state: 'active', expiresAt: minted.expiresAt, lastError: null, uriSecret: { create: sealed } },
    });
  } catch (error) {
    if (!isRecordNotFound(error)) throw error;
    // The row moved on while Prosody minted (revoked, say): take the invite back out of Prosody,
    // unless another run of this job stored it (the same invite: it was found by its tag).
    const current = await deps.prisma.invite.findUnique({ where: { id: invite.id }, select: { uriSecretId: true } });
    if (current?.uriSecretId) return 'The invite was already created';
    await prosodyRevokeInvite(deps.containers, invite.serverId, { domain: server.domain, tag: invite.id });
    return 'Withdrew the invite from the server: it was revoked while being created';
  }
  return `Created an invite, valid until ${minted.expiresAt.toISOString()}`;
}

/** Prisma's code for an update whose where clause matched no row. */
function isRecordNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'P2025';
}
