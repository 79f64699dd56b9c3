import { statfs } from 'node:fs/promises';
import { freemem, totalmem } from 'node:os';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PrismaClient } from '../../../prisma/client.js';
import type { AcmeOrderLimits } from '../contracts/acme-order-limits.js';

/** What the worker's gauges read at each scrape: the platform database and this node's disk. */
export interface WorkerMetricsSources {
  prisma: PrismaClient;
  acmeOrderLimits: AcmeOrderLimits;
  nodeName: string;
  /** A directory on the disk the node's servers fill (Docker's data root, the state directory). */
  diskPath: string;
}

const seconds = (date: Date) => date.getTime() / 1000;

/**
 * The worker's Prometheus metrics. Counters and the step histogram are fed as work happens; the
 * gauges of platform state (certificates, backups, incidents, the ACME budget) are read from the
 * database when scraped, so they are right after a restart and the same from every worker.
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly jobs = new Counter({ name: 'parley_worker_jobs_total', help: 'Jobs finished, by queue, job and outcome', labelNames: ['queue', 'job', 'outcome'] as const, registers: [this.registry] });
  readonly steps = new Histogram({
    name: 'parley_worker_step_duration_seconds',
    help: 'Tracked steps (provisioning, renewal, repairs, backups…) by step and outcome',
    labelNames: ['step', 'outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly findings = new Counter({ name: 'parley_reconcile_findings_total', help: 'What reconcile passes found wrong, by kind', labelNames: ['kind'] as const, registers: [this.registry] });

  constructor(sources: WorkerMetricsSources) {
    collectDefaultMetrics({ register: this.registry, prefix: 'parley_worker_' });
    const { prisma } = sources;
    const registers = [this.registry];
    new Gauge({
      name: 'parley_acme_orders_in_window',
      help: 'New ACME orders in the current window (the platform account)',
      registers,
      async collect() {
        const since = new Date(Date.now() - sources.acmeOrderLimits.windowMs);
        this.set(await prisma.acmeOrder.count({ where: { createdAt: { gt: since } } }));
      },
    });
    new Gauge({ name: 'parley_acme_order_budget', help: 'New ACME orders allowed per window', registers }).set(sources.acmeOrderLimits.perAcmeAccount);
    // A gauge with one series per server (server_id, domain), read whole at each scrape.
    const serverGauge = (name: string, help: string, read: () => Promise<{ serverId: string; domain: string; value: number }[]>) =>
      new Gauge({
        name,
        help,
        labelNames: ['server_id', 'domain'] as const,
        registers,
        async collect() {
          const rows = await read();
          this.reset();
          for (const row of rows) this.set({ server_id: row.serverId, domain: row.domain }, row.value);
        },
      });
    const activeCertificates = () =>
      prisma.certificate.findMany({
        where: { status: 'active', server: { deletedAt: null, desiredState: 'running' } },
        select: { serverId: true, notAfter: true, failureCount: true, server: { select: { domain: true } } },
      });
    serverGauge('parley_certificate_expiry_timestamp_seconds', 'When each running server’s certificate expires', async () =>
      (await activeCertificates()).flatMap((c) => (c.notAfter ? [{ serverId: c.serverId, domain: c.server.domain, value: seconds(c.notAfter) }] : [])),
    );
    serverGauge('parley_certificate_renewal_failures', 'Renewal failures in a row of each running server’s certificate', async () =>
      (await activeCertificates()).map((c) => ({ serverId: c.serverId, domain: c.server.domain, value: c.failureCount })),
    );
    const lastBackups = async () => {
      const servers = await prisma.server.findMany({
        where: { deletedAt: null, state: { in: ['ready', 'stopped'] } },
        select: { id: true, domain: true, plan: { select: { backupIntervalMinutes: true } } },
      });
      const latest = await prisma.serverBackup.findMany({
        where: { serverId: { in: servers.map((s) => s.id) }, status: { in: ['succeeded', 'failed'] } },
        distinct: ['serverId', 'status'],
        orderBy: [{ serverId: 'asc' }, { status: 'asc' }, { finishedAt: 'desc' }],
        select: { serverId: true, status: true, finishedAt: true },
      });
      return servers.map((server) => {
        const of = (status: string) => latest.find((b) => b.serverId === server.id && b.status === status)?.finishedAt ?? null;
        return { serverId: server.id, domain: server.domain, intervalMinutes: server.plan.backupIntervalMinutes, succeededAt: of('succeeded'), failedAt: of('failed') };
      });
    };
    serverGauge('parley_backup_last_success_timestamp_seconds', 'When each server’s last backup succeeded (absent: never)', async () =>
      (await lastBackups()).flatMap((b) => (b.succeededAt ? [{ ...b, value: seconds(b.succeededAt) }] : [])),
    );
    serverGauge('parley_backup_last_failed', '1 when a server’s newest finished backup failed', async () =>
      (await lastBackups()).map((b) => ({ ...b, value: b.failedAt && (!b.succeededAt || b.failedAt > b.succeededAt) ? 1 : 0 })),
    );
    serverGauge('parley_backup_interval_seconds', 'How often each server’s plan backs it up', async () =>
      (await lastBackups()).map((b) => ({ ...b, value: b.intervalMinutes * 60 })),
    );
    new Gauge({
      name: 'parley_incidents',
      help: 'Unresolved incidents the reconciler opened, by kind and status (open: being repaired)',
      labelNames: ['kind', 'status'] as const,
      registers,
      async collect() {
        const rows = await prisma.incident.groupBy({ by: ['kind', 'status'], where: { status: { not: 'resolved' } }, _count: { _all: true } });
        this.reset();
        for (const row of rows) this.set({ kind: row.kind, status: row.status }, row._count._all);
      },
    });
    new Gauge({
      name: 'parley_node_memory_used_ratio',
      help: 'Share of this node’s memory in use',
      labelNames: ['node'] as const,
      registers,
      collect() {
        this.set({ node: sources.nodeName }, 1 - freemem() / totalmem());
      },
    });
    new Gauge({
      name: 'parley_node_disk_used_ratio',
      help: 'Share of the disk holding this node’s servers in use',
      labelNames: ['node'] as const,
      registers,
      async collect() {
        const disk = await statfs(sources.diskPath);
        this.set({ node: sources.nodeName }, 1 - disk.bavail / disk.blocks);
      },
    });
  }
}
