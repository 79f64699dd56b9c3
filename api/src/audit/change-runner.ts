import type { FastifyBaseLogger } from 'fastify';
import type { PrismaClient } from '../../../prisma/client.js';
import type { Prisma } from '../../../prisma/generated/client/client.js';
import type { AuditActor, AuditEntry, AuditService } from './audit.service.js';

export type Tx = Prisma.TransactionClient;

export interface Change<T> {
  /** The rows; `audit` is what to record, or absent when nothing was written (a repeated request). */
  write(tx: Tx): Promise<{ result: T; audit?: AuditEntry }>;
  enqueue(result: T): Promise<unknown>;
  /** Reverses `write` when the job could not be queued; guarded, in case a later request moved the rows on. */
  undo(tx: Tx, result: T): Promise<void>;
}

/**
 * Commits a change, then queues its job. Not the other way round: the worker finishes a job whose
 * row it cannot see yet as "nothing to do", and BullMQ keeps a finished job's id for days, so a
 * job that ran before the commit would leave the request undone for good. When queueing fails
 * (Redis down) the commit is undone, audit row included, and the error answers 503: a failed
 * request has written nothing.
 */
export class ChangeRunner {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly audit: AuditService,
    private readonly log: FastifyBaseLogger,
  ) {}

  async run<T>(actor: AuditActor, change: Change<T>): Promise<T> {
    const { result, auditId } = await this.prisma.$transaction(async (tx) => {
      const written = await change.write(tx);
      if (!written.audit) return { result: written.result, auditId: null };
      await this.audit.record(tx, actor, written.audit);
      // currval is per connection, and the transaction holds one: this is our audit row's id.
      const [row] = await tx.$queryRaw<[{ id: bigint }]>`SELECT currval(pg_get_serial_sequence('audit_logs', 'id')) AS id`;
      return { result: written.result, auditId: row.id };
    });
    try {
      await change.enqueue(result);
    } catch (error) {
      if (auditId !== null) {
        await this.prisma
          .$transaction(async (tx) => {
            await change.undo(tx, result);
            await tx.auditLog.deleteMany({ where: { id: auditId } });
          })
          .catch((undoError: unknown) => this.log.error({ err: undoError }, 'a change whose job could not be queued was not undone'));
      }
      throw error;
    }
    return result;
  }
}
