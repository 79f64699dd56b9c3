import { UnrecoverableError, type Job } from 'bullmq';
import { describeError } from '../contracts/dependency-check.js';
import { checkDomain } from '../contracts/domain-name.js';
import {
  ADMIN_RESET_JOB,
  DEPROVISION_JOB,
  SERVER_ACTION_JOB,
  adminResetJobSchema,
  serverActionJobSchema,
  RENEW_JOB,
  RENEWAL_SCAN_JOB,
  RECONCILE_JOB,
  PROVISION_STEPS,
  renewJobSchema,
  STEP_STATE,
  STEP_TITLE,
  serverJobSchema,
  type ProvisionStep,
} from '../contracts/provisioning.js';
import type { Failpoints } from './failpoints.js';
import { PermanentStepError } from './step-errors.js';
import type { StepDeps } from './step-deps.js';
import { failureMessage, Timeline } from './timeline.js';
import { allocateStep } from './steps/allocate.step.js';
import { dnsStep } from './steps/dns.step.js';
import { certificateStep } from './steps/certificate.step.js';
import { configureStep } from './steps/configure.step.js';
import { containerStep } from './steps/container.step.js';
import { adminAccountStep } from './steps/admin-account.step.js';
import { probeStep } from './steps/probe.step.js';
import { deprovision } from './deprovision.js';
import { renewCertificate, scanForRenewals } from './renewal.js';
import { reconcile } from './reconcile.js';
import { runServerAction } from './server-actions.js';
import { resetAdminPassword } from './admin-reset.js';

type StepRunner = (deps: StepDeps, serverId: string) => Promise<string>;

const RUNNERS: Record<ProvisionStep, StepRunner> = {
  allocate: (deps, id) => allocateStep(deps.prisma, id, () => deps.containers.publishedHostPorts()),
  dns: dnsStep,
  certificate: certificateStep,
  configure: configureStep,
  container: containerStep,
  admin_account: adminAccountStep,
  probe: probeStep,
};

export interface ProcessorOptions {
  deps: StepDeps;
  failpoints: Failpoints;
  /** Classifies adapter errors that retrying cannot fix (a refused ACME identifier, say). */
  isPermanent: (error: unknown) => boolean;
}

/**
 * Runs one job: records the step's start and outcome on the server's timeline, moves the server
 * through its states, and tells BullMQ whether a failure is worth retrying.
 */
export function createProvisioningProcessor(options: ProcessorOptions) {
  const { deps, failpoints } = options;
  const timeline = new Timeline(deps.prisma);

  return async (job: Job): Promise<string> => {
    const attempt = job.attemptsMade + 1;
    const context = { attempt, attempts: job.opts.attempts ?? 1, ...(job.id ? { jobId: job.id } : {}) };
    if (job.name === RENEWAL_SCAN_JOB) return scanForRenewals(deps);
    if (job.name === RECONCILE_JOB) return reconcile(deps);
    if (job.name === RENEW_JOB) {
      const { serverId, certificateId } = renewJobSchema.parse(job.data);
      return renewCertificate(deps, timeline, serverId, certificateId, context);
    }
    if (job.name === SERVER_ACTION_JOB) {
      const { serverId, action } = serverActionJobSchema.parse(job.data);
      return runServerAction(deps, timeline, serverId, action, context);
    }
    if (job.name === ADMIN_RESET_JOB) {
      const { serverId, issuance } = adminResetJobSchema.parse(job.data);
      return resetAdminPassword(deps, timeline, serverId, issuance, context);
    }
    const { serverId } = serverJobSchema.parse(job.data);

    if (job.name === DEPROVISION_JOB) {
      return deprovision(deps, timeline, serverId, context, failpoints);
    }
    if (!isStep(job.name)) throw new UnrecoverableError(`unknown job ${job.name}`);
    const step = job.name;

    const server = await deps.prisma.server.findUnique({ where: { id: serverId }, select: { desiredState: true, deletedAt: true, domain: true } });
    // The API enqueues inside the transaction that writes the order: a step can run before that
    // commit is visible, so a missing row is worth a retry (a rolled-back order fails quietly).
    if (!server) throw new Error(`server ${serverId} not found (yet)`);
    if (server.deletedAt || server.desiredState === 'deleted') return 'cancelled: the server is being deleted';
    // The API validates too; this guards every side effect against a row written any other way.
    const domain = checkDomain(server.domain);

    await timeline.setState(serverId, STEP_STATE[step]);
    await timeline.record(serverId, step, 'started', STEP_TITLE[step], context);
    try {
      if (!domain.ok) throw new PermanentStepError(`The domain is not acceptable: ${domain.reason}`);
      const message = await RUNNERS[step](deps, serverId);
      await failpoints.hit(`${step}.after-effects`);
      await timeline.record(serverId, step, 'succeeded', message, context);
      if (step === 'probe') {
        await timeline.setState(serverId, 'ready');
        await timeline.record(serverId, 'ready', 'info', 'Your server is ready', context);
      }
      return message;
    } catch (error) {
      const permanent = error instanceof PermanentStepError || error instanceof UnrecoverableError || options.isPermanent(error);
      const finalAttempt = permanent || attempt >= context.attempts;
      const reason = describeError(error);
      await timeline.record(serverId, step, 'failed', failureMessage(reason, context, permanent), context);
      if (finalAttempt) await timeline.setState(serverId, 'failed', `${STEP_TITLE[step]}: ${reason}`);
      if (permanent) throw new UnrecoverableError(reason);
      throw error;
    }
  };
}

function isStep(name: string): name is ProvisionStep {
  return (PROVISION_STEPS as readonly string[]).includes(name);
}
