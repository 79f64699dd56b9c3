import type { FastifyBaseLogger } from 'fastify';
import type { PrismaClient } from '../../../prisma/client.js';
import { importContentContext } from '../../../worker/src/contracts/secret-contexts.js';
import { readServerData, Xep0227Error } from '../../../worker/src/contracts/xep0227.js';
import { sealDocument } from '../../../worker/src/crypto/sealed-document.js';
import type { SecretSealer } from '../../../worker/src/crypto/secret-sealer.js';
import { actorOf, type AuditService } from '../audit/audit.service.js';
import { ChangeRunner, type Tx } from '../audit/change-runner.js';
import type { Principal } from '../auth/principal.js';
import { counted } from '../../../worker/src/contracts/counted.js';
import { HttpProblem } from '../http/problem.js';

/** How long an upload waits for the order that uses it; the backup schedule's tick deletes it after. */
const IMPORT_TTL_MS = 86_400_000;

export interface ImportDto {
  id: string;
  host: string;
  userCount: number;
  expiresAt: string;
}

/** Uploaded XEP-0227 files, checked and sealed, for an order to put in place (`importId`). */
export class ImportService {
  private readonly changes: ChangeRunner;

  constructor(
    prisma: PrismaClient,
    audit: AuditService,
    private readonly secrets: SecretSealer,
    log: FastifyBaseLogger,
  ) {
    this.changes = new ChangeRunner(prisma, audit, log);
  }

  async upload(principal: Principal, document: string, ip: string): Promise<ImportDto> {
    let summary;
    try {
      summary = readServerData(document);
    } catch (error) {
      if (error instanceof Xep0227Error) throw new HttpProblem(400, 'Not an importable file', error.message, { errors: [{ in: 'body', field: '', message: error.message }] });
      throw error;
    }
    const { host, users } = summary;
    const content = sealDocument(this.secrets, document, importContentContext(principal.accountId));
    const row = await this.changes.run(actorOf(principal, ip), {
      write: async (tx) => {
        const created = await tx.serverImport.create({ data: { accountId: principal.accountId, host, userCount: users.length, content, expiresAt: new Date(Date.now() + IMPORT_TTL_MS) } });
        return { result: created, audit: { action: 'server_import.create', targetType: 'server_import', targetId: created.id, detail: { host, userCount: users.length } } };
      },
      enqueue: () => Promise.resolve(),
      undo: () => Promise.resolve(),
    });
    return { id: row.id, host: row.host, userCount: row.userCount, expiresAt: row.expiresAt.toISOString() };
  }
}

/**
 * The import an order names, checked inside the order's transaction (the account row is locked,
 * so two orders cannot both take it): the caller's, unused, unexpired, and within the plan's users.
 */
export async function requireUsableImport(tx: Tx, accountId: string, importId: string, plan: { name: string; maxUsersPerServer: number }): Promise<void> {
  const upload = await tx.serverImport.findFirst({ where: { id: importId, accountId }, select: { userCount: true, expiresAt: true, usedByServerId: true, servers: { select: { id: true } } } });
  const field = (message: string) => ({ errors: [{ in: 'body', field: 'importId', message }] });
  if (!upload) throw new HttpProblem(400, 'Unknown import', `There is no import ${importId} of yours; upload the file first (POST /api/v1/imports).`, field('must be the id of an import of yours'));
  if (upload.usedByServerId || upload.servers.length > 0) throw new HttpProblem(409, 'Import already used', 'This import went to another server already; upload the file again for a new one.', field('is already used'));
  if (upload.expiresAt <= new Date()) throw new HttpProblem(409, 'Import expired', `This import expired at ${upload.expiresAt.toISOString()}; upload the file again.`, field('has expired'));
  if (upload.userCount > plan.maxUsersPerServer) {
    throw new HttpProblem(409, 'Too many users', `The file holds ${counted(upload.userCount, 'user')} and the ${plan.name} plan allows ${plan.maxUsersPerServer} per server; choose a bigger plan or remove users from the file.`, field('holds more users than the plan allows'));
  }
}
