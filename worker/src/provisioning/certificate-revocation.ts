import { describeError } from '../contracts/dependency-check.js';
import { classifyError } from '../jobs/error-type.js';
import { acmeAccountKeyContext } from '../contracts/secret-contexts.js';
import type { StepDeps } from './step-deps.js';
import type { EventContext, Timeline } from './timeline.js';

export interface RevocationOutcome {
  revoked: number;
  failed: number;
}

/** The timeline step of a certificate the CA would not revoke. */
export const REVOKE_STEP = 'revoke_certificate';

/**
 * Best effort: revokes each unexpired certificate of the server through the ACME account and
 * directory that issued it (an expired one is no threat and the CA may no longer know it). A
 * refusal, a CA that is down or does not answer is recorded on the certificate and the timeline,
 * and the next certificate is tried: a deletion never waits on the CA.
 */
export async function revokeCertificates(deps: StepDeps, timeline: Timeline, serverId: string, context: EventContext, now = new Date()): Promise<RevocationOutcome> {
  const certificates = await deps.prisma.certificate.findMany({
    where: { serverId, status: { in: ['active', 'superseded'] }, chainPem: { not: null }, notAfter: { gt: now } },
    include: { acmeAccount: { include: { key: true } } },
  });
  const outcome: RevocationOutcome = { revoked: 0, failed: 0 };
  for (const certificate of certificates) {
    const { acmeAccount: account, chainPem } = certificate;
    try {
      if (!account || !chainPem) throw new Error('no ACME account is recorded for it');
      const accountKeyPem = deps.secrets.open(account.key, acmeAccountKeyContext(account.directoryUrl));
      await deps.ca.revoke(chainPem, accountKeyPem, account.directoryUrl);
      await deps.prisma.certificate.update({
        where: { id: certificate.id },
        data: { status: 'revoked', revokedAt: new Date(), lastError: null, lastErrorType: null },
      });
      outcome.revoked += 1;
    } catch (error) {
      const reason = describeError(error);
      const { type } = classifyError(error);
      await deps.prisma.certificate.update({
        where: { id: certificate.id },
        data: { lastError: `revocation failed: ${reason}`, lastErrorType: type, lastAttemptAt: new Date() },
      });
      await timeline.record(
        serverId,
        REVOKE_STEP,
        'failed',
        `Could not revoke certificate ${certificate.serial ?? certificate.id}: ${reason}. The deletion goes on without it.`,
        {
          ...context,
          detail: { certificateId: certificate.id, serial: certificate.serial, directoryUrl: account?.directoryUrl ?? null },
        },
        { willRetry: false, errorType: type },
      );
      outcome.failed += 1;
    }
  }
  return outcome;
}
