import type { Job } from 'bullmq';
import { checkDomain } from '../contracts/domain-name.js';
import { STEP_STATE, STEP_TITLE, type ProvisionStep } from '../contracts/provisioning.js';
import { jobContext, trackedStep, type StepOutcome } from '../jobs/tracked-step.js';
import type { Failpoints } from './failpoints.js';
import { PermanentStepError } from './step-errors.js';
import type { StepDeps } from './step-deps.js';
import type { Timeline } from './timeline.js';
import type { DatabaseBackupDeps } from '../backups/database-backup.js';
import { allocateStep } from './steps/allocate.step.js';
import { dnsStep } from './steps/dns.step.js';
import { certificateStep } from './steps/certificate.step.js';
import { configureStep } from './steps/configure.step.js';
import { containerStep } from './steps/container.step.js';
import { adminAccountStep } from './steps/admin-account.step.js';
import { probeStep } from './steps/probe.step.js';

/** What every job on the provisioning queue is given. */
export interface ProvisioningJobContext {
  deps: StepDeps;
  failpoints: Failpoints;
  timeline: Timeline;
  databaseBackup: DatabaseBackupDeps;
  /** Told what each reconcile pass found wrong, by kind (the findings counter). */
  findingsSeen: (findings: Record<string, number>) => void;
}

type StepRunner = (deps: StepDeps, serverId: string) => Promise<string | StepOutcome>;

const RUNNERS: Record<ProvisionStep, StepRunner> = {
  allocate: (deps, id) => allocateStep(deps.prisma, id, () => deps.containers.publishedHostPorts(), () => deps.containers.downNodes()),
  dns: dnsStep,
  certificate: certificateStep,
  configure: configureStep,
  container: containerStep,
  admin_account: adminAccountStep,
  probe: probeStep,
};

/**
 * Runs one step of an order: moves the server into the step's state, and into `failed` once no
 * retry is left; the probe's success makes it ready.
 */
export async function runProvisionStep(context: ProvisioningJobContext, step: ProvisionStep, serverId: string, job: Job): Promise<string> {
  const { deps, timeline, failpoints } = context;
  const server = await deps.prisma.server.findUnique({ where: { id: serverId }, select: { desiredState: true, deletedAt: true, domain: true } });
  // The API enqueues inside the transaction that writes the order: a step can run before that
  // commit is visible, so a missing row is worth a retry (a rolled-back order fails quietly).
  if (!server) throw new Error(`server ${serverId} not found (yet)`);
  if (server.deletedAt || server.desiredState === 'deleted') return 'cancelled: the server is being deleted';
  // The API validates too; this guards every side effect against a row written any other way.
  const domain = checkDomain(server.domain);

  const events = jobContext(job);
  await timeline.setState(serverId, STEP_STATE[step]);
  return trackedStep(
    {
      timeline,
      serverId,
      step,
      title: STEP_TITLE[step],
      context: events,
      onSuccess: async () => {
        if (step !== 'probe') return;
        await timeline.setState(serverId, 'ready');
        await timeline.record(serverId, 'ready', 'info', 'Your server is ready', events);
        // Compliance is data about a ready server, never part of the order: a queue that refuses
        // it now leaves the server ready, and the checks can be asked for again.
        if (deps.settings.complianceAfterReady) await deps.jobs.enqueueComplianceCheck(serverId).catch(() => undefined);
      },
      onFailure: async ({ reason, willRetry, errorType }) => {
        if (!willRetry) await timeline.setState(serverId, 'failed', { text: `${STEP_TITLE[step]}: ${reason}`, errorType });
      },
    },
    async () => {
      if (!domain.ok) throw new PermanentStepError(`The domain is not acceptable: ${domain.reason}`);
      const outcome = await RUNNERS[step](deps, serverId);
      await failpoints.hit(`${step}.after-effects`);
      return outcome;
    },
  );
}
