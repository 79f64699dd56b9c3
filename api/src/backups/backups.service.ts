import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { PrismaClient } from '../../../prisma/client.js';
import type { ServerBackup } from '../../../prisma/generated/client/client.js';
import type { BackupKind, BackupStatus } from '../../../prisma/generated/client/enums.js';
import { nextBackupDue } from '../../../worker/src/contracts/backup-due.js';
import { actorOf, type AuditService } from '../audit/audit.service.js';
import { ChangeRunner } from '../audit/change-runner.js';
import { ownedBy, type Principal } from '../auth/principal.js';
import { readerOf, storedFailureText, type Reader } from '../http/failure-text.js';
import { HttpProblem, notFound } from '../http/problem.js';
import type { JobsPort } from '../plugins/jobs.plugin.js';

const LIST_HINT = 'GET /api/v1/servers';
/** The newest backups a list shows; retention keeps far fewer than this. */
const LIST_LIMIT = 100;

export interface BackupDto {
  id: string;
  kind: BackupKind;
  status: BackupStatus;
  requestedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  sizeBytes: number | null;
  addedBytes: number | null;
  pausedMs: number | null;
  attempts: number;
  error: string | null;
  errorType: string | null;
}

const iso = (date: Date | null) => date?.toISOString() ?? null;
const bytes = (value: bigint | null) => (value === null ? null : Number(value));

function toDto(backup: ServerBackup, reader: Reader): BackupDto {
  return {
    id: backup.id,
    kind: backup.kind,
    status: backup.status,
    requestedAt: backup.requestedAt.toISOString(),
    startedAt: iso(backup.startedAt),
    finishedAt: iso(backup.finishedAt),
    sizeBytes: bytes(backup.sizeBytes),
    addedBytes: bytes(backup.addedBytes),
    pausedMs: backup.pausedMs,
    attempts: backup.attempts,
    error: storedFailureText(reader, backup.lastError, backup.lastErrorType),
    errorType: backup.lastErrorType,
  };
}

/** A server's backups: the list, one taken now, and a restore from one of them. */
export class BackupService {
  private readonly changes: ChangeRunner;

  constructor(
    private readonly prisma: PrismaClient,
    audit: AuditService,
    private readonly jobs: JobsPort,
    log: FastifyBaseLogger,
  ) {
    this.changes = new ChangeRunner(prisma, audit, log);
  }

  async list(principal: Principal, serverId: string) {
    const server = await this.findServer(principal, serverId);
    const rows = await this.prisma.serverBackup.findMany({ where: { serverId, status: { not: 'forgotten' } }, orderBy: { requestedAt: 'desc' }, take: LIST_LIMIT });
    const latest = rows.find((row) => row.kind !== 'safety');
    const next = server.readyAt ? nextBackupDue({ readyAt: server.readyAt, intervalMinutes: server.plan.backupIntervalMinutes, latest }) : null;
    const { plan } = server;
    return {
      schedule: {
        intervalMinutes: plan.backupIntervalMinutes,
        keep: { last: plan.backupKeepLast, daily: plan.backupKeepDaily, weekly: plan.backupKeepWeekly },
        nextAt: iso(next),
      },
      items: rows.map((row) => toDto(row, readerOf(principal))),
    };
  }

  /** One backup now; while one is queued or running, that one is the answer (no second copy). */
  async request(principal: Principal, serverId: string, ip: string): Promise<BackupDto> {
    const server = await this.findServer(principal, serverId);
    assertHasData(server, 'back it up');
    const backup = await this.changes.run(actorOf(principal, ip), {
      write: async (tx) => {
        const pending = await tx.serverBackup.findFirst({ where: { serverId, status: { in: ['queued', 'running'] }, kind: { not: 'safety' } } });
        if (pending) return { result: { row: pending, created: false } };
        const row = await tx.serverBackup.create({ data: { serverId, kind: 'on_demand' } });
        return { result: { row, created: true }, audit: { action: 'server.backup', targetType: 'server', targetId: serverId, detail: { backupId: row.id } } };
      },
      enqueue: ({ row }) => this.jobs.backup({ serverId, backupId: row.id }),
      undo: async (tx, { row, created }) => {
        if (created) await tx.serverBackup.deleteMany({ where: { id: row.id, status: 'queued' } });
      },
    });
    return toDto(backup.row, readerOf(principal));
  }

  async restore(principal: Principal, serverId: string, backupId: string, ip: string) {
    const server = await this.findServer(principal, serverId);
    assertHasData(server, 'restore it');
    const backup = await this.prisma.serverBackup.findFirst({ where: { id: backupId, serverId } });
    if (!backup) throw notFound('backup', backupId, `GET /api/v1/servers/${serverId}/backups`);
    if (backup.status !== 'succeeded') {
      throw new HttpProblem(409, 'Not restorable', `This backup is ${backup.status}; only a finished backup can be restored. Pick one with status "succeeded" from GET /api/v1/servers/${serverId}/backups.`);
    }
    const requestId = randomUUID();
    await this.changes.run(actorOf(principal, ip), {
      write: () =>
        Promise.resolve({ result: requestId, audit: { action: 'server.restore', targetType: 'server', targetId: serverId, detail: { backupId, takenAt: iso(backup.finishedAt) } } }),
      enqueue: () => this.jobs.restore({ serverId, backupId, requestId }),
      undo: () => Promise.resolve(),
    });
    return { accepted: true, requestId };
  }

  private async findServer(principal: Principal, id: string) {
    const server = await this.prisma.server.findFirst({ where: { id, deletedAt: null, ...ownedBy(principal) }, include: { plan: true } });
    if (!server) throw notFound('server', id, LIST_HINT);
    return server;
  }
}

/** Backups and restores need a server whose data exists and which no deletion or restore is changing. */
export function assertHasData(server: { id: string; state: string; desiredState: string; nodeId: string | null; readyAt: Date | null }, what: string): void {
  if (server.desiredState === 'deleted') throw new HttpProblem(409, 'Server is being deleted', `The server is being deleted, so Parley cannot ${what}.`);
  if (server.state === 'restoring') {
    throw new HttpProblem(409, 'Not now', `The server is being restored; ${what} once it is ready again (GET /api/v1/servers/${server.id}/events).`);
  }
  // A failed server can be backed up and restored if it was set up once: its data exists.
  const settled = ['ready', 'stopped'].includes(server.state) || (server.state === 'failed' && server.readyAt !== null && server.nodeId !== null);
  if (!settled) {
    throw new HttpProblem(409, 'Not now', `The server is ${server.state}; Parley can ${what} once it has been set up (GET /api/v1/servers/${server.id}/events).`);
  }
}
