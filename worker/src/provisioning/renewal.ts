import { certificateNames } from './dns-plan.js';
import { buildServerSpec, installedSpec } from './server-spec.js';
import { loadServer, type StepDeps } from './step-deps.js';
import { trackedStep } from '../jobs/tracked-step.js';
import type { EventContext, Timeline } from './timeline.js';
import { issueCertificate, type IssuingServer } from './steps/certificate.step.js';
import { ChallengeDelegationMissingError, describeDelegations } from './challenge-delegation.js';
import { failedRenewal } from './renewal-backoff.js';

/**
 * Finds active certificates past their renewal time on running servers and queues each once.
 * A certificate whose renewals failed (or that is blocked on its customer) waits out its backoff.
 */
export async function scanForRenewals(deps: StepDeps, now = new Date()): Promise<string> {
  const due = await deps.prisma.certificate.findMany({
    where: {
      status: 'active',
      renewAfter: { lte: now },
      OR: [{ nextAttemptAt: null }, { nextAttemptAt: { lte: now } }],
      server: { state: 'ready', desiredState: 'running', deletedAt: null },
    },
    select: { id: true, serverId: true },
  });
  for (const certificate of due) await deps.jobs.enqueueRenewal(certificate.serverId, certificate.id);
  return `${due.length} certificate(s) due for renewal`;
}

/**
 * Replaces a due certificate and installs it: new files in the config volume, then a reload,
 * so clients see the new certificate without a restart. A failure is written on the
 * certificate (with when to try again, or what the customer must fix) and the timeline, where
 * the customer sees it; a transient one is retried a few times first.
 */
export async function renewCertificate(
  deps: StepDeps,
  timeline: Timeline,
  serverId: string,
  certificateId: string,
  context: EventContext,
): Promise<string> {
  const server = await loadServer(deps.prisma, serverId);
  if (server.deletedAt || server.desiredState !== 'running') return 'skipped: the server is not running';
  let blockedReason: string | null = null;
  return trackedStep(
    {
      timeline,
      serverId,
      step: 'renew',
      title: 'Renew the TLS certificate',
      context,
      failureText: (reason) => `Certificate renewal failed: ${reason}`,
      onFailure: async ({ reason, errorType, willRetry }) => {
        const active = await deps.prisma.certificate.findFirst({ where: { serverId, status: 'active' }, orderBy: { createdAt: 'desc' } });
        if (!active) return;
        const data = failedRenewal({ reason, errorType, willRetry, blockedReason }, active.failureCount, new Date());
        await deps.prisma.certificate.update({ where: { id: active.id }, data });
      },
    },
    async () => {
      const active = await deps.prisma.certificate.findFirst({ where: { serverId, status: 'active' }, orderBy: { createdAt: 'desc' } });
      // A retry after the new certificate was stored only has to install it.
      const issued = active?.id === certificateId ? await issueBlockable(deps, server, (reason) => (blockedReason = reason)) : 'Already renewed';
      const { spec } = await buildServerSpec(deps, serverId);
      await deps.containers.writeFiles(serverId, spec.files);
      const reload = await deps.containers.exec(serverId, ['prosodyctl', 'reload']);
      if (reload.exitCode !== 0) throw new Error(`Prosody did not reload: ${(reload.stderr || reload.stdout).trim()}`);
      await deps.prisma.server.update({ where: { id: serverId }, data: installedSpec(spec) });
      return `${issued}; installed and reloaded`;
    },
  );
}

/** Issues the renewal; a customer's missing `_acme-challenge` CNAME is reported as what they must create. */
async function issueBlockable(deps: StepDeps, server: IssuingServer, blocked: (reason: string) => void): Promise<string> {
  try {
    return await issueCertificate(deps, server, certificateNames(server.domain));
  } catch (error) {
    if (error instanceof ChallengeDelegationMissingError) blocked(describeDelegations(error.missing));
    throw error;
  }
}
