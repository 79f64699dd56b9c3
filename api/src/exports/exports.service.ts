import type { FastifyBaseLogger } from 'fastify';
import type { PrismaClient } from '../../../prisma/client.js';
import type { ServerExport } from '../../../prisma/generated/client/client.js';
import type { ServerExportStatus } from '../../../prisma/generated/client/enums.js';
import { exportContentContext } from '../../../worker/src/contracts/secret-contexts.js';
import { openDocument } from '../../../worker/src/crypto/sealed-document.js';
import type { SecretSealer } from '../../../worker/src/crypto/secret-sealer.js';
import { actorOf, type AuditService } from '../audit/audit.service.js';
import { ChangeRunner } from '../audit/change-runner.js';
import { assertOwnerReveals, ownedBy, type Principal } from '../auth/principal.js';
import { assertHasData } from '../backups/backups.service.js';
import { readerOf, storedFailureText, type Reader } from '../http/failure-text.js';
import { HttpProblem, notFound } from '../http/problem.js';
import type { JobsPort } from '../plugins/jobs.plugin.js';

/** How long an export can be downloaded; the backup schedule's tick deletes it after. */
const EXPORT_TTL_MS = 7 * 86_400_000;
const LIST_LIMIT = 50;

export interface ExportDto {
  id: string;
  status: ServerExportStatus;
  requestedAt: string;
  finishedAt: string | null;
  expiresAt: string;
  sizeBytes: number | null;
  userCount: number | null;
  attempts: number;
  error: string | null;
  errorType: string | null;
}

function toDto(row: Omit<ServerExport, 'content'>, reader: Reader): ExportDto {
  return {
    id: row.id,
    status: row.status,
    requestedAt: row.requestedAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
    expiresAt: row.expiresAt.toISOString(),
    sizeBytes: row.sizeBytes === null ? null : Number(row.sizeBytes),
    userCount: row.userCount,
    attempts: row.attempts,
    error: storedFailureText(reader, row.lastError, row.lastErrorType),
    errorType: row.lastErrorType,
  };
}

/** Everything of a row but its content, which only a download reads. */
const WITHOUT_CONTENT = { content: true } as const;

/** A server's XEP-0227 exports: one made now, the list, and the download of a finished one. */
export class ExportService {
  private readonly changes: ChangeRunner;

  constructor(
    private readonly prisma: PrismaClient,
    audit: AuditService,
    private readonly jobs: JobsPort,
    private readonly secrets: SecretSealer,
    log: FastifyBaseLogger,
  ) {
    this.changes = new ChangeRunner(prisma, audit, log);
  }

  async list(principal: Principal, serverId: string): Promise<{ items: ExportDto[] }> {
    await this.findServer(principal, serverId);
    const rows = await this.prisma.serverExport.findMany({ where: { serverId }, omit: WITHOUT_CONTENT, orderBy: { requestedAt: 'desc' }, take: LIST_LIMIT });
    return { items: rows.map((row) => toDto(row, readerOf(principal))) };
  }

  /** One export now; while one is queued or running, that one is the answer. */
  async request(principal: Principal, serverId: string, ip: string): Promise<ExportDto> {
    const server = await this.findServer(principal, serverId);
    assertHasData(server, 'export it');
    const result = await this.changes.run(actorOf(principal, ip), {
      write: async (tx) => {
        const pending = await tx.serverExport.findFirst({ where: { serverId, status: { in: ['queued', 'running'] } }, omit: WITHOUT_CONTENT });
        if (pending) return { result: { row: pending, created: false } };
        const row = await tx.serverExport.create({ data: { serverId, expiresAt: new Date(Date.now() + EXPORT_TTL_MS) }, omit: WITHOUT_CONTENT });
        return { result: { row, created: true }, audit: { action: 'server.export', targetType: 'server', targetId: serverId, detail: { exportId: row.id } } };
      },
      enqueue: ({ row }) => this.jobs.export({ serverId, exportId: row.id }),
      undo: async (tx, { row, created }) => {
        if (created) await tx.serverExport.deleteMany({ where: { id: row.id, status: 'queued' } });
      },
    });
    return toDto(result.row, readerOf(principal));
  }

  /** The document and a file name for it; 409 until it is ready, 410 once it has expired. */
  async download(principal: Principal, serverId: string, exportId: string): Promise<{ filename: string; document: string }> {
    const server = await this.findServer(principal, serverId);
    assertOwnerReveals(principal, server.accountId, "An export of a server's users (their password data and messages)");
    const row = await this.prisma.serverExport.findFirst({ where: { id: exportId, serverId } });
    if (!row) throw notFound('export', exportId, `GET /api/v1/servers/${serverId}/exports`);
    if (row.expiresAt <= new Date()) throw new HttpProblem(410, 'Export expired', `This export expired at ${row.expiresAt.toISOString()}; make a new one (POST /api/v1/servers/${serverId}/exports).`);
    if (row.status !== 'succeeded' || !row.content) {
      throw new HttpProblem(409, 'Export not ready', `This export is ${row.status}; download it once its status is "succeeded" (GET /api/v1/servers/${serverId}/exports).`);
    }
    const day = (row.finishedAt ?? row.requestedAt).toISOString().slice(0, 10);
    return { filename: `${server.domain}-${day}.xml`, document: openDocument(this.secrets, row.content, exportContentContext(row.id)) };
  }

  private async findServer(principal: Principal, id: string) {
    const server = await this.prisma.server.findFirst({ where: { id, deletedAt: null, ...ownedBy(principal) } });
    if (!server) throw notFound('server', id, 'GET /api/v1/servers');
    return server;
  }
}
