import type { Redis } from 'ioredis';
import type { PrismaClient } from '../../../prisma/client.js';
import type { AcmeOrderLimits } from '../../../worker/src/contracts/acme-order-limits.js';
import type { NodeService } from '../nodes/nodes.service.js';
import { queueDepths, type JobQueues } from './job-queues.js';
import { nodeCapacity } from './node-capacity.js';

const LIST_LIMIT = 50;
const ATTENTION_LIMIT = 100;
const MINUTE_MS = 60_000;

export interface OperatorConsoleSources {
  prisma: PrismaClient;
  redis: Redis;
  nodes: NodeService;
  queues: JobQueues;
  acmeOrderLimits: AcmeOrderLimits;
}

/**
 * Everything an operator watches on one page, read from the platform database, the worker's
 * reports in Redis and the queues: the same facts the worker's metrics give Prometheus.
 */
export class OperatorConsoleService {
  constructor(private readonly sources: OperatorConsoleSources) {}

  async overview(now = new Date()) {
    const { prisma, redis, nodes, queues } = this.sources;
    const [nodeRows, attention, certificates, backups, acmeBudget, depths] = await Promise.all([
      nodeCapacity(prisma, redis, nodes),
      this.attention(),
      this.certificates(),
      this.backups(now),
      this.acmeBudget(now),
      queueDepths(queues),
    ]);
    return { generatedAt: now.toISOString(), nodes: nodeRows, attention, certificates, backups, acmeBudget, queues: depths };
  }

  private async attention() {
    const incidents = await this.sources.prisma.incident.findMany({
      where: { status: { in: ['open', 'needs_attention'] }, server: { deletedAt: null } },
      // The enum's order is open < needs_attention: descending puts those repairs gave up on first.
      orderBy: [{ status: 'desc' }, { openedAt: 'asc' }],
      take: ATTENTION_LIMIT,
      select: {
        id: true,
        status: true,
        kind: true,
        repairAttempts: true,
        lastErrorType: true,
        lastError: true,
        openedAt: true,
        server: { select: { id: true, domain: true, account: { select: { email: true } } } },
      },
    });
    return incidents.map((incident) => ({
      id: incident.id,
      status: incident.status as 'open' | 'needs_attention',
      kind: incident.kind,
      server: { id: incident.server.id, domain: incident.server.domain, accountEmail: incident.server.account.email },
      repairAttempts: incident.repairAttempts,
      lastErrorType: incident.lastErrorType,
      lastError: incident.lastError,
      since: incident.openedAt.toISOString(),
    }));
  }

  private async certificates() {
    const rows = await this.sources.prisma.certificate.findMany({
      where: { status: 'active', notAfter: { not: null }, server: { deletedAt: null } },
      orderBy: { notAfter: 'asc' },
      take: LIST_LIMIT,
      select: { id: true, notAfter: true, failureCount: true, lastErrorType: true, server: { select: { id: true, domain: true } } },
    });
    return rows.flatMap((row) =>
      row.notAfter ? [{ id: row.id, server: row.server, notAfter: row.notAfter.toISOString(), failureCount: row.failureCount, lastErrorType: row.lastErrorType }] : [],
    );
  }

  /** The servers the backup schedule covers (ready or stopped), by the age of their last success. */
  private async backups(now: Date) {
    const { prisma } = this.sources;
    const live = { deletedAt: null, state: { in: ['ready' as const, 'stopped' as const] } };
    const [servers, latest] = await Promise.all([
      prisma.server.findMany({ where: live, select: { id: true, domain: true, readyAt: true, createdAt: true, plan: { select: { backupIntervalMinutes: true } } } }),
      prisma.serverBackup.groupBy({ by: ['serverId', 'status'], where: { status: { in: ['succeeded', 'failed'] }, server: live }, _max: { finishedAt: true } }),
    ]);
    const last = (serverId: string, status: 'succeeded' | 'failed') => latest.find((row) => row.serverId === serverId && row.status === status)?._max.finishedAt ?? null;
    const ages = servers.map((server) => {
      const succeededAt = last(server.id, 'succeeded');
      const intervalMinutes = server.plan.backupIntervalMinutes;
      const since = succeededAt ?? server.readyAt ?? server.createdAt;
      return {
        server: { id: server.id, domain: server.domain },
        succeededAt,
        lastFailedAt: last(server.id, 'failed')?.toISOString() ?? null,
        intervalMinutes,
        overdue: now.getTime() - since.getTime() > intervalMinutes * MINUTE_MS,
      };
    });
    // Never backed up first, then the oldest last success.
    const age = (entry: (typeof ages)[number]) => entry.succeededAt?.getTime() ?? Number.NEGATIVE_INFINITY;
    ages.sort((a, b) => (age(a) === age(b) ? 0 : age(a) < age(b) ? -1 : 1));
    return ages.slice(0, LIST_LIMIT).map(({ succeededAt, ...age }) => ({ ...age, lastSucceededAt: succeededAt?.toISOString() ?? null }));
  }

  private async acmeBudget(now: Date) {
    const limits = this.sources.acmeOrderLimits;
    const usedInWindow = await this.sources.prisma.acmeOrder.count({ where: { createdAt: { gt: new Date(now.getTime() - limits.windowMs) } } });
    return { usedInWindow, limit: limits.perAcmeAccount, perCustomerLimit: limits.perCustomer, windowMs: limits.windowMs };
  }
}
