import type { PrismaClient } from '../../../prisma/client.js';
import { isUniqueViolation } from '../../../prisma/errors.js';
import { counted } from '../../../worker/src/contracts/counted.js';
import { lockAccount } from '../accounts/account-lock.js';
import type { FastifyBaseLogger } from 'fastify';
import { actorOf, type AuditService } from '../audit/audit.service.js';
import { ChangeRunner } from '../audit/change-runner.js';
import { ownedBy, type Principal } from '../auth/principal.js';
import { HttpProblem, notFound } from '../http/problem.js';
import type { JobsPort } from '../plugins/jobs.plugin.js';

const LIST_HINT = 'GET /api/v1/deleted-servers';

export interface DeletedServerDto {
  id: string;
  name: string;
  domain: string;
  deletedAt: string;
  /** Until when the deletion can be undone; after it the backups are gone for good. */
  restorableUntil: string;
  /** Whether the deletion's final backup was taken: without it there is nothing to bring back. */
  restorable: boolean;
}

/** Deleted servers still in their grace period, and undoing a deletion from its final backup. */
export class DeletedServerService {
  private readonly changes: ChangeRunner;

  constructor(
    private readonly prisma: PrismaClient,
    audit: AuditService,
    private readonly jobs: JobsPort,
    log: FastifyBaseLogger,
  ) {
    this.changes = new ChangeRunner(prisma, audit, log);
  }

  async list(principal: Principal): Promise<{ items: DeletedServerDto[] }> {
    const rows = await this.prisma.server.findMany({
      where: { ...ownedBy(principal), state: 'deleted', purgedAt: null, purgeAfter: { gt: new Date() } },
      orderBy: { deletedAt: 'desc' },
      take: 100,
    });
    const finals = await this.prisma.serverBackup.findMany({ where: { id: { in: rows.flatMap((row) => (row.finalBackupId ? [row.finalBackupId] : [])) }, status: 'succeeded' }, select: { id: true } });
    const done = new Set(finals.map((backup) => backup.id));
    return {
      items: rows.map((row) => ({
        id: row.id,
        name: row.name,
        domain: row.domain,
        deletedAt: (row.deletedAt ?? row.stateChangedAt).toISOString(),
        restorableUntil: (row.purgeAfter ?? row.stateChangedAt).toISOString(),
        restorable: row.finalBackupId !== null && done.has(row.finalBackupId),
      })),
    };
  }

  /**
   * Brings a deleted server back: its row live again, provisioned anew (DNS, a new certificate,
   * ports) with the container started on the final backup's data. Refused, changing nothing,
   * when the grace period is over, the plan's quota is full, or the name was taken meanwhile.
   */
  async undelete(principal: Principal, id: string, ip: string): Promise<{ accepted: true }> {
    const server = await this.prisma.server.findFirst({ where: { id, ...ownedBy(principal), state: 'deleted' }, include: { account: { include: { plan: true } } } });
    if (!server || server.purgedAt || !server.purgeAfter || server.purgeAfter <= new Date()) throw notFound('deleted server', id, LIST_HINT);
    const final = server.finalBackupId ? await this.prisma.serverBackup.findUnique({ where: { id: server.finalBackupId } }) : null;
    if (final?.status !== 'succeeded') {
      throw new HttpProblem(409, 'Nothing to bring back', 'The deletion kept no backup of this server (it had no data yet, or the backup did not finish), so it cannot be undone.');
    }
    const { plan } = server.account;
    const gone = { state: 'deleted' as const, desiredState: 'deleted' as const, deletedAt: server.deletedAt, purgeAfter: server.purgeAfter, finalBackupId: final.id, restoreBackupId: null };
    try {
      // The job only after the commit: a step that ran first would find the server still deleted
      // and pass over it, and the next step would find no ports.
      await this.changes.run(actorOf(principal, ip), {
        write: async (tx) => {
          await lockAccount(tx, server.accountId);
          const live = await tx.server.count({ where: { accountId: server.accountId, deletedAt: null } });
          if (live >= plan.maxServers) {
            throw new HttpProblem(409, 'Server quota reached', `The ${plan.name} plan allows ${counted(plan.maxServers, 'server')} and the account has ${live}. Delete one first, or move to a bigger plan.`);
          }
          if (server.customDomainId) {
            await tx.$queryRaw`SELECT id FROM domains WHERE id = ${server.customDomainId}::uuid FOR SHARE`;
            const domain = await tx.domain.findFirst({ where: { id: server.customDomainId, accountId: server.accountId, deletedAt: null, status: 'verified' } });
            if (!domain) throw new HttpProblem(409, 'Domain gone', `${server.domain} is no longer a verified domain of the account; add and verify it again (POST /api/v1/domains), then undo the deletion.`);
          }
          const { count } = await tx.server.updateMany({
            where: { id, state: 'deleted', purgedAt: null },
            data: {
              deletedAt: null,
              desiredState: 'running',
              state: 'ordered',
              stateReason: null,
              stateReasonType: null,
              stateChangedAt: new Date(),
              readyAt: null,
              health: 'unknown',
              healthIssue: null,
              purgeAfter: null,
              finalBackupId: null,
              restoreBackupId: final.id,
              containerId: null,
              specHash: null,
              version: { increment: 1 },
            },
          });
          if (count === 0) throw notFound('deleted server', id, LIST_HINT);
          return { result: id, audit: { action: 'server.undelete', targetType: 'server', targetId: id, detail: { name: server.name, domain: server.domain, backupId: final.id } } };
        },
        enqueue: () => this.jobs.reprovision(id),
        undo: async (tx) => {
          await tx.server.updateMany({ where: { id, state: 'ordered', restoreBackupId: final.id }, data: gone });
        },
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new HttpProblem(409, 'Name taken', `${server.domain} has been given to another server since this one was deleted, so this one cannot come back under it.`);
      }
      throw error;
    }
    return { accepted: true };
  }
}
