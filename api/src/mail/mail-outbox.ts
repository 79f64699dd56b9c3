import type { FastifyBaseLogger } from 'fastify';
import { describeError } from '../../../worker/src/contracts/dependency-check.js';
import type { Mailer, MailMessage } from './mailer.js';

/**
 * Sends account mail after the answer, not before: a request whose answer must not tell whether an
 * account exists (password reset) then takes as long either way, and a slow relay slows no one.
 * A failed delivery is logged (the person can ask again); close() waits for those under way.
 */
export class MailOutbox {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly mailer: Mailer,
    private readonly log: FastifyBaseLogger,
  ) {}

  post(message: MailMessage, kind: string): void {
    const delivery = this.mailer
      .send(message)
      .then(() => this.log.info({ kind }, 'account mail sent'))
      .catch((error: unknown) => this.log.warn({ kind, err: describeError(error) }, 'account mail not delivered'))
      .finally(() => this.pending.delete(delivery));
    this.pending.add(delivery);
  }

  async close(): Promise<void> {
    await Promise.all(this.pending);
    this.mailer.close();
  }
}
