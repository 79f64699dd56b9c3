import { COMPLIANCE_ACCOUNT_PREFIX } from '../../../worker/src/contracts/compliance.js';
import type { Queue } from 'bullmq';
import { readerOf, storedFailureText, type Reader } from '../http/failure-text.js';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { PrismaClient } from '../../../prisma/client.js';
import type { Prisma } from '../../../prisma/generated/client/client.js';
import { isValidUsername, USERNAME_RULE } from '../../../worker/src/contracts/xmpp-names.js';
import { generatePassword } from '../../../worker/src/crypto/generated-password.js';
import { wipeSecrets } from '../../../worker/src/crypto/sealed-secret.js';
import {
  enqueueUserCreate,
  enqueueUserDelete,
  enqueueUserPasswordReset,
  sealUserPassword,
  xmppUserPasswordContext,
} from '../../../worker/src/contracts/xmpp-user-jobs.js';
import { actorOf, type AuditService } from '../audit/audit.service.js';
import { assertOwnerReveals, ownedBy, type Principal } from '../auth/principal.js';
import { HttpProblem, notFound } from '../http/problem.js';
import { toPage } from '../http/schemas.js';
import { ChangeRunner } from '../audit/change-runner.js';
import { assertSeatFree, assertTakesChanges, lockOwnedServer, type ServerWithPlan, type Tx } from './account-changes.js';

const withSecretState = { secret: { select: { revealedAt: true, destroyedAt: true } } } as const;
type UserRow = Prisma.XmppUserGetPayload<{ include: typeof withSecretState }>;

export interface XmppUserDto {
  id: string;
  serverId: string;
  localpart: string;
  jid: string;
  state: string;
  lastError: string | null;
  passwordRevealedAt: string | null;
  createdAt: string;
}

function toDto(user: UserRow, domain: string, reader: Reader): XmppUserDto {
  return {
    id: user.id,
    serverId: user.serverId,
    localpart: user.localpart,
    jid: `${user.localpart}@${domain}`,
    state: user.state,
    lastError: storedFailureText(reader, user.lastError, user.lastErrorType),
    passwordRevealedAt: user.secret?.revealedAt?.toISOString() ?? null,
    createdAt: user.createdAt.toISOString(),
  };
}

const usersPath = (serverId: string) => `/api/v1/servers/${serverId}/users`;

export class XmppUserService {
  private readonly changes: ChangeRunner;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly audit: AuditService,
    private readonly queue: Queue,
    private readonly secrets: FastifyInstance['secrets'],
    log: FastifyBaseLogger,
  ) {
    this.changes = new ChangeRunner(prisma, audit, log);
  }

  /** Users that exist or are on their way (not deleted), by localpart. */
  async list(principal: Principal, serverId: string, page: { cursor?: string | undefined; limit: number }) {
    const server = await this.prisma.server.findFirst({ where: { id: serverId, deletedAt: null, ...ownedBy(principal) } });
    if (!server) throw notFound('server', serverId, 'GET /api/v1/servers');
    const rows = await this.prisma.xmppUser.findMany({
      where: { serverId, state: { not: 'deleted' }, ...(page.cursor === undefined ? {} : { localpart: { gt: page.cursor } }) },
      include: withSecretState,
      orderBy: { localpart: 'asc' },
      take: page.limit + 1,
    });
    return toPage(rows, page.limit, (row) => row.localpart, (row) => toDto(row, server.domain, readerOf(principal)));
  }

  async get(principal: Principal, serverId: string, id: string): Promise<XmppUserDto> {
    const user = await this.prisma.xmppUser.findFirst({
      where: { id, serverId, state: { not: 'deleted' }, server: { deletedAt: null, ...ownedBy(principal) } },
      include: { ...withSecretState, server: { select: { domain: true } } },
    });
    if (!user) throw notFound('XMPP user', id, `GET ${usersPath(serverId)}`);
    return toDto(user, user.server.domain, readerOf(principal));
  }

  /**
   * A pending user with a password Parley generated, sealed for the worker; the worker creates
   * the account. A deleted user's row is taken over (its id stays), as the schema intends.
   */
  async create(principal: Principal, serverId: string, input: { localpart: string }, ip: string) {
    const { localpart } = input;
    if (!isValidUsername(localpart)) {
      throw new HttpProblem(400, 'Invalid username', USERNAME_RULE, { errors: [{ in: 'body', field: 'localpart', message: USERNAME_RULE }] });
    }
    const password = generatePassword();
    const { user, server } = await this.changes.run(actorOf(principal, ip), {
      write: async (tx) => {
        const now = new Date();
        const server = await lockOwnedServer(tx, principal, serverId);
        assertTakesChanges(server, readerOf(principal));
        await this.assertNotAdmin(tx, server, localpart);
        const previous = await tx.xmppUser.findUnique({ where: { serverId_localpart: { serverId, localpart } } });
        if (previous?.state === 'deleting') {
          throw new HttpProblem(409, 'Username being deleted', `${localpart}@${server.domain} is being deleted; create it again once it is gone.`, {
            errors: [{ in: 'body', field: 'localpart', message: 'is being deleted' }],
          });
        }
        if (previous && previous.state !== 'deleted') {
          throw new HttpProblem(409, 'Username taken', `${localpart}@${server.domain} already exists; choose another username.`, {
            errors: [{ in: 'body', field: 'localpart', message: 'is already taken' }],
          });
        }
        await assertSeatFree(tx, server, now);
        const row = previous ?? (await tx.xmppUser.create({ data: { serverId, localpart } }));
        // The password is bound to the row's id, so the row exists before the secret is sealed.
        const user = await tx.xmppUser.update({
          where: { id: row.id },
          data: { state: 'pending', lastError: null, createdAt: now, secret: { create: sealUserPassword(this.secrets, row.id, password) } },
          include: withSecretState,
        });
        return {
          result: { user, server, previous },
          audit: { action: 'xmpp_user.create', targetType: 'xmpp_user', targetId: user.id, detail: { serverId, localpart } },
        };
      },
      enqueue: ({ user }) => enqueueUserCreate(this.queue, { serverId, userId: user.id, secretId: secretIdOf(user) }),
      undo: async (tx, { user, previous }) => {
        const secretId = secretIdOf(user);
        if (previous) {
          const { state, secretId: previousSecretId, lastError, createdAt, updatedAt } = previous;
          await tx.xmppUser.updateMany({ where: { id: user.id, secretId }, data: { state, secretId: previousSecretId, lastError, createdAt, updatedAt } });
        } else {
          await tx.xmppUser.deleteMany({ where: { id: user.id, secretId } });
        }
        await deleteUnusedSecret(tx, secretId);
      },
    });
    return { user: toDto(user, server.domain, readerOf(principal)), next: `Reveal the password once with POST ${usersPath(serverId)}/${user.id}/password/reveal.` };
  }

  /** The worker deletes the account (ending its sessions) and wipes the password; asking again re-queues it. */
  async remove(principal: Principal, serverId: string, id: string, ip: string): Promise<XmppUserDto> {
    const { user, server } = await this.changes.run(actorOf(principal, ip), {
      write: async (tx) => {
        const { user: current, server } = await this.lockUser(tx, principal, serverId, id);
        const previous = { state: current.state, lastError: current.lastError, updatedAt: current.updatedAt };
        if (current.state === 'deleting') return { result: { user: current, server, previous } };
        const user = await tx.xmppUser.update({ where: { id }, data: { state: 'deleting', lastError: null }, include: withSecretState });
        return {
          result: { user, server, previous },
          audit: { action: 'xmpp_user.delete', targetType: 'xmpp_user', targetId: id, detail: { serverId, localpart: user.localpart } },
        };
      },
      enqueue: ({ user }) => enqueueUserDelete(this.queue, { serverId, userId: id, secretId: secretIdOf(user) }),
      undo: async (tx, { user, previous }) => {
        await tx.xmppUser.updateMany({ where: { id, state: 'deleting', secretId: user.secretId }, data: previous });
      },
    });
    return toDto(user, server.domain, readerOf(principal));
  }

  /**
   * A new generated password in a new secret (the job id names it); the old one is wiped, since
   * it stops working once the worker has run.
   */
  async resetPassword(principal: Principal, serverId: string, id: string, ip: string) {
    const password = generatePassword();
    const { user, server } = await this.changes.run(actorOf(principal, ip), {
      write: async (tx) => {
        const { user: current, server } = await this.lockUser(tx, principal, serverId, id);
        if (current.state === 'deleting') throw beingDeleted(current.localpart, server.domain);
        const previousSecret = current.secretId ? await tx.encryptedSecret.findUnique({ where: { id: current.secretId } }) : null;
        const user = await tx.xmppUser.update({
          where: { id },
          data: { lastError: null, secret: { create: sealUserPassword(this.secrets, id, password) } },
          include: withSecretState,
        });
        if (previousSecret) await wipeSecrets(tx, [previousSecret.id]);
        return {
          result: { user, server, previous: { lastError: current.lastError, updatedAt: current.updatedAt, secret: previousSecret } },
          audit: { action: 'xmpp_user.password_reset', targetType: 'xmpp_user', targetId: id, detail: { serverId, localpart: user.localpart } },
        };
      },
      enqueue: ({ user }) => enqueueUserPasswordReset(this.queue, { serverId, userId: id, secretId: secretIdOf(user) }),
      undo: async (tx, { user, previous }) => {
        const secretId = secretIdOf(user);
        const { count } = await tx.xmppUser.updateMany({ where: { id, secretId }, data: { secretId: previous.secret?.id ?? null, lastError: previous.lastError, updatedAt: previous.updatedAt } });
        if (count === 1 && previous.secret) {
          const { iv, ciphertext, authTag, destroyedAt } = previous.secret;
          await tx.encryptedSecret.update({ where: { id: previous.secret.id }, data: { iv, ciphertext, authTag, destroyedAt } });
        }
        await deleteUnusedSecret(tx, secretId);
      },
    });
    return { user: toDto(user, server.domain, readerOf(principal)), next: `Reveal the new password once with POST ${usersPath(serverId)}/${id}/password/reveal.` };
  }

  /**
   * The current password, once: marking the secret revealed is a conditional update, so of two
   * concurrent reveals only one gets it.
   */
  async revealPassword(principal: Principal, serverId: string, id: string, ip: string) {
    const user = await this.prisma.xmppUser.findFirst({
      where: { id, serverId, state: { not: 'deleted' }, server: { deletedAt: null, ...ownedBy(principal) } },
      include: { secret: true, server: { select: { domain: true, accountId: true } } },
    });
    if (!user) throw notFound('XMPP user', id, `GET ${usersPath(serverId)}`);
    assertOwnerReveals(principal, user.server.accountId, 'A user\'s password');
    const jid = `${user.localpart}@${user.server.domain}`;
    if (user.state === 'deleting') throw beingDeleted(user.localpart, user.server.domain);
    const secret = user.secret;
    const marked =
      secret &&
      (await this.prisma.$transaction(async (tx) => {
        const { count } = await tx.encryptedSecret.updateMany({ where: { id: secret.id, revealedAt: null, destroyedAt: null }, data: { revealedAt: new Date() } });
        if (count === 1) {
          await this.audit.record(tx, actorOf(principal, ip), {
            action: 'xmpp_user.password_reveal',
            targetType: 'xmpp_user',
            targetId: id,
            detail: { serverId, localpart: user.localpart },
          });
        }
        return count === 1;
      }));
    if (!secret || !marked) {
      throw new HttpProblem(
        410,
        'Already revealed',
        `The password of ${jid} was shown once already${secret?.revealedAt ? ` (${secret.revealedAt.toISOString()})` : ''} and is not kept for showing again. ` +
          `Set a new one with POST ${usersPath(serverId)}/${id}/password, then reveal that.`,
      );
    }
    return { jid, password: this.secrets.open(secret, xmppUserPasswordContext(id)) };
  }

  /** The user (not deleted) on the caller's server, with the server locked and ready for changes. */
  private async lockUser(tx: Tx, principal: Principal, serverId: string, id: string) {
    const server = await lockOwnedServer(tx, principal, serverId);
    const user = await tx.xmppUser.findFirst({ where: { id, serverId, state: { not: 'deleted' } }, include: withSecretState });
    if (!user) throw notFound('XMPP user', id, `GET ${usersPath(serverId)}`);
    assertTakesChanges(server, readerOf(principal));
    return { user, server };
  }

  /** The server's admin account belongs to Parley: a user of the same name would take over its password. */
  private async assertNotAdmin(tx: Tx, server: ServerWithPlan, localpart: string): Promise<void> {
    // The compliance checks' throwaway accounts are made and deleted by the platform, and not seats.
    if (localpart.startsWith(COMPLIANCE_ACCOUNT_PREFIX)) {
      throw new HttpProblem(409, 'Username reserved', `Names starting with "${COMPLIANCE_ACCOUNT_PREFIX}" are the platform's own; choose another username.`, {
        errors: [{ in: 'body', field: 'localpart', message: `is reserved: names starting with "${COMPLIANCE_ACCOUNT_PREFIX}" are the platform's` }],
      });
    }
    const admin = await tx.serverCredential.findFirst({ where: { serverId: server.id, jid: `${localpart}@${server.domain}` } });
    if (admin) {
      throw new HttpProblem(409, 'Username reserved', `${admin.jid} is the server's admin account (see POST /api/v1/servers/${server.id}/credentials/reveal); choose another username.`, {
        errors: [{ in: 'body', field: 'localpart', message: 'is reserved for the admin account' }],
      });
    }
  }
}

/** Every user the API writes has a password secret: the job contract names it. */
function secretIdOf(user: { id: string; secretId: string | null }): string {
  if (!user.secretId) throw new Error(`user ${user.id} has no password secret`);
  return user.secretId;
}

/** A secret no user points at any more; one still in use (a later request took it over) stays. */
async function deleteUnusedSecret(tx: Tx, id: string): Promise<void> {
  await tx.encryptedSecret.deleteMany({ where: { id, xmppUser: { is: null } } });
}

function beingDeleted(localpart: string, domain: string): HttpProblem {
  return new HttpProblem(409, 'User being deleted', `${localpart}@${domain} is being deleted; nothing else can be done with it.`);
}
