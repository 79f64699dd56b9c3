import type { Job } from 'bullmq';
import type { FastifyBaseLogger } from 'fastify';
import type { PrismaClient } from '../../../prisma/client.js';
import { serverJobSchema } from '../../../worker/src/contracts/provisioning.js';
import { actorOf, type AuditEntry, type AuditService } from '../audit/audit.service.js';
import { ChangeRunner } from '../audit/change-runner.js';
import type { Principal } from '../auth/principal.js';
import { HttpProblem } from '../http/problem.js';
import { QUEUE_NAMES, type JobQueues, type QueueName } from './job-queues.js';

const FAILED_LIMIT = 100;
const FAILED_LIST = 'GET /api/v1/operator/jobs/failed';

const serverIdOf = (job: Job): string | null => {
  const parsed = serverJobSchema.safeParse(job.data);
  return parsed.success ? parsed.data.serverId : null;
};

/** Jobs that failed for good on the worker's queues, and retrying one (audited). */
export class FailedJobsService {
  private readonly changes: ChangeRunner;

  constructor(
    private readonly prisma: PrismaClient,
    audit: AuditService,
    private readonly queues: JobQueues,
    log: FastifyBaseLogger,
  ) {
    this.changes = new ChangeRunner(prisma, audit, log);
  }

  /** The newest failed jobs of every queue, with their server and the stable error type its timeline recorded. */
  async list() {
    const perQueue = await Promise.all(
      QUEUE_NAMES.map(async (queue) => (await this.queues[queue].getFailed(0, FAILED_LIMIT - 1)).filter(Boolean).map((job) => ({ queue, job }))),
    );
    const failed = perQueue
      .flat()
      .sort((a, b) => (b.job.finishedOn ?? 0) - (a.job.finishedOn ?? 0))
      .slice(0, FAILED_LIMIT)
      .map((entry) => ({ ...entry, serverId: serverIdOf(entry.job) }));
    const serverIds = [...new Set(failed.flatMap(({ serverId }) => (serverId ? [serverId] : [])))];
    const [errorTypes, servers] = await Promise.all([
      this.errorTypesOf(serverIds, failed.map(({ job }) => job.id ?? '')),
      this.prisma.server.findMany({ where: { id: { in: serverIds } }, select: { id: true, domain: true } }),
    ]);
    return {
      items: failed.map(({ queue, job, serverId }) => ({
        queue,
        id: job.id ?? '',
        name: job.name,
        serverId,
        serverDomain: servers.find((server) => server.id === serverId)?.domain ?? null,
        errorType: errorTypes.get(job.id ?? '') ?? null,
        reason: job.failedReason,
        attemptsMade: job.attemptsMade,
        finishedOn: job.finishedOn === undefined ? null : new Date(job.finishedOn).toISOString(),
      })),
    };
  }

  /**
   * Jobs carry ids only; the type of their failure is on the server's timeline, on the `failed`
   * event the job recorded (its jobId). The newest one per job wins.
   */
  private async errorTypesOf(serverIds: string[], jobIds: string[]): Promise<Map<string, string>> {
    if (serverIds.length === 0) return new Map();
    const events = await this.prisma.provisioningEvent.findMany({
      where: { serverId: { in: serverIds }, jobId: { in: jobIds }, status: 'failed', errorType: { not: null } },
      orderBy: { id: 'asc' },
      select: { jobId: true, errorType: true },
    });
    return new Map(events.map((event) => [event.jobId ?? '', event.errorType ?? '']));
  }

  /**
   * Puts a failed job back on its queue with its attempts counted afresh, so a cause an operator
   * fixed gets the job's whole retry budget. The audit row names the server whose job it is, so
   * its owner's log shows it too.
   */
  async retry(principal: Principal, queueName: QueueName, jobId: string, ip: string) {
    const job = await this.failedJob(queueName, jobId);
    const serverId = serverIdOf(job);
    const audit: AuditEntry = {
      action: 'job.retry',
      ...(serverId ? { targetType: 'server', targetId: serverId } : { targetType: 'job', targetId: `${queueName}/${jobId}` }),
      detail: { queue: queueName, jobId, job: job.name },
    };
    try {
      await this.changes.run(actorOf(principal, ip), {
        write: () => Promise.resolve({ result: undefined, audit }),
        enqueue: () => job.retry('failed', { resetAttemptsMade: true }),
        undo: () => Promise.resolve(),
      });
    } catch (error) {
      // Retried or removed by someone else since it was read: say so, as the first check would have.
      await this.failedJob(queueName, jobId);
      throw error;
    }
    return { accepted: true, queue: queueName, jobId };
  }

  private async failedJob(queueName: QueueName, jobId: string): Promise<Job> {
    const job = await this.queues[queueName].getJob(jobId);
    if (!job) throw new HttpProblem(404, 'Not found', `The ${queueName} queue has no job ${jobId}; ${FAILED_LIST} lists the failed ones.`);
    const state = await job.getState();
    if (state !== 'failed') throw new HttpProblem(409, 'Not failed', `Job ${jobId} is ${state}, not failed: only a failed job can be retried (${FAILED_LIST}).`);
    return job;
  }
}
