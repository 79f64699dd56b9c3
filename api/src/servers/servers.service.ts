import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { PrismaClient, SqlReader } from '../../../prisma/client.js';
import type { Prisma } from '../../../prisma/generated/client/client.js';
import type { PortPurpose } from '../../../prisma/generated/client/enums.js';
import type { ServerAction } from '../../../worker/src/contracts/provisioning.js';
import type { SecretSealer } from '../../../worker/src/crypto/secret-sealer.js';
import { adminSecretContext } from '../../../worker/src/contracts/secret-contexts.js';
import { turnHostname } from '../../../worker/src/contracts/node-names.js';
import { COMPLIANCE_CHECK_IDS, COMPLIANCE_CHECKS } from '../../../worker/src/contracts/compliance.js';
import {
  CONTACT_ADDRESS_RULE,
  CONTACT_KINDS,
  contactAddressesOf,
  contactAddressesProblems,
  type ContactAddresses,
  type ContactKind,
} from '../../../worker/src/contracts/contact-addresses.js';
import { actorOf, type AuditService } from '../audit/audit.service.js';
import { ChangeRunner } from '../audit/change-runner.js';
import { assertOwnerReveals, ownedBy, type Principal } from '../auth/principal.js';
import { counted } from '../../../worker/src/contracts/counted.js';
import { HttpProblem, notFound } from '../http/problem.js';
import { toPage } from '../http/schemas.js';
import type { JobsPort } from '../plugins/jobs.plugin.js';
import { requireVerifiedDomain } from '../domains/verified-domain.js';
import { serverListQuery, toServerItem, type ServerFields } from './server-list.js';
import { failureText, readerOf, storedFailureText, type Reader } from '../http/failure-text.js';
import type { DnsNameCheck } from './dns-name-check.js';
import { platformDomainFor } from './server-name.js';
import { withinAccountPlan } from '../plans/plan-allowance.js';
import { lockAccount } from '../accounts/account-lock.js';
import { requireUsableImport } from '../exports/imports.service.js';
import { requireClonableBackup } from '../backups/clonable-backup.js';
import { isUniqueViolation } from '../../../prisma/errors.js';

const LIST_HINT = 'GET /api/v1/servers';
const withDetail = { node: true, plan: true, portAllocations: true } as const;
type ServerRow = Prisma.ServerGetPayload<{ include: typeof withDetail }>;

export function toServerDto(server: ServerRow, reader: Reader) {
  const port = (purpose: PortPurpose) => server.portAllocations.find((p) => p.purpose === purpose)?.port ?? null;
  return toServerItem({
    ...server,
    plan: server.plan.code,
    c2s: port('c2s'),
    c2sDirectTls: port('c2s_direct_tls'),
    s2s: port('s2s'),
    https: port('https'),
  }, reader);
}

const beingDeleted = (id: string, action: ServerAction | 'change its contact addresses') =>
  new HttpProblem(409, 'Server is being deleted', `The server is being deleted, so it cannot ${action}; its deletion goes on (GET /api/v1/servers/${id}/events).`);

export class ServerService {
  private readonly changes: ChangeRunner;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly sql: SqlReader,
    private readonly audit: AuditService,
    private readonly jobs: JobsPort,
    private readonly secrets: SecretSealer,
    private readonly platformZone: string,
    private readonly dnsNames: DnsNameCheck,
    log: FastifyBaseLogger,
  ) {
    this.changes = new ChangeRunner(prisma, audit, log);
  }

  /**
   * Writes the order and queues its provisioning in one transaction: when Redis is down the
   * enqueue fails, the order is rolled back and the caller gets a 503 (nothing half-done).
   */
  async order(
    principal: Principal,
    input: { name: string; federation: boolean; plan?: string | undefined; domainId?: string | undefined; importId?: string | undefined; cloneFromBackupId?: string | undefined },
    ip: string,
  ) {
    const name = platformDomainFor(input.name, this.platformZone);
    if (!name.ok) throw new HttpProblem(400, 'Invalid server name', name.reason, { errors: [{ in: 'body', field: 'name', message: name.reason }] });
    if (input.importId !== undefined && input.cloneFromBackupId !== undefined) {
      const reason = 'A new server starts either with an imported file or as a clone of a backup, not both; leave one out.';
      throw new HttpProblem(400, 'Two starting points', reason, { errors: [{ in: 'body', field: 'cloneFromBackupId', message: 'cannot go with importId' }] });
    }
    const account = await this.prisma.account.findUniqueOrThrow({ where: { id: principal.accountId }, include: { plan: true } });
    const plan = input.plan === undefined ? account.plan : await this.prisma.plan.findFirst({ where: { code: input.plan, active: true } });
    if (!plan) {
      const codes = (await this.prisma.plan.findMany({ where: { active: true }, select: { code: true } })).map((p) => p.code);
      throw new HttpProblem(400, 'Unknown plan', `There is no plan "${input.plan}"; choose one of: ${codes.join(', ')}.`);
    }
    if (!withinAccountPlan(plan, account.plan)) {
      const reason = `Your account's ${account.plan.name} plan does not include ${plan.name} servers; order a ${account.plan.name} server, or move your account to the ${plan.name} plan first.`;
      throw new HttpProblem(403, 'Plan not included', reason, { errors: [{ in: 'body', field: 'plan', message: 'is bigger than your account\'s plan' }] });
    }
    if (await this.prisma.node.findFirst({ where: { name: input.name }, select: { id: true } })) {
      const reason = `"${input.name}" is the name of one of the platform's machines; choose another name.`;
      throw new HttpProblem(400, 'Invalid server name', reason, { errors: [{ in: 'body', field: 'name', message: reason }] });
    }
    if (input.domainId === undefined) await this.dnsNames.refuseForeign(name.domain);
    let domain = name.domain;
    try {
      const created = await this.prisma.$transaction(async (tx) => {
        await lockAccount(tx, account.id);
        const live = await tx.server.count({ where: { accountId: account.id, deletedAt: null } });
        if (live >= account.plan.maxServers) {
          throw new HttpProblem(
            409,
            'Server quota reached',
            `Your ${account.plan.name} plan allows ${counted(account.plan.maxServers, 'server')} and you have ${live}. Delete one (DELETE /api/v1/servers/{id}) or move to a bigger plan.`,
          );
        }
        // Checked inside the transaction: the domain row stays locked until the order commits.
        const custom = input.domainId === undefined ? null : await requireVerifiedDomain(tx, principal, input.domainId);
        domain = custom?.name ?? name.domain;
        if (input.importId !== undefined) await requireUsableImport(tx, account.id, input.importId, plan);
        if (input.cloneFromBackupId !== undefined) await requireClonableBackup(tx, account.id, input.cloneFromBackupId);
        const server = await tx.server.create({
          data: {
            accountId: account.id,
            name: input.name,
            domain,
            domainKind: custom ? 'custom' : 'platform',
            customDomainId: custom?.id ?? null,
            federation: input.federation,
            planId: plan.id,
            importId: input.importId ?? null,
            cloneBackupId: input.cloneFromBackupId ?? null,
          },
          include: withDetail,
        });
        await this.audit.record(tx, actorOf(principal, ip), {
          action: 'server.create',
          targetType: 'server',
          targetId: server.id,
          detail: {
            name: server.name,
            domain: server.domain,
            federation: server.federation,
            plan: plan.code,
            ...(input.importId === undefined ? {} : { importId: input.importId }),
            ...(input.cloneFromBackupId === undefined ? {} : { cloneFromBackupId: input.cloneFromBackupId }),
          },
        });
        await this.jobs.provision(server.id);
        return server;
      });
      return toServerDto(created, readerOf(principal));
    } catch (error) {
      if (isUniqueViolation(error)) {
        const [field, reason] =
          input.domainId === undefined ? ['name', `${domain} is already taken; choose another name.`] : ['domainId', `${domain} already has a server; delete it first or use another domain.`];
        throw new HttpProblem(409, input.domainId === undefined ? 'Name taken' : 'Domain in use', reason, { errors: [{ in: 'body', field, message: 'is already taken' }] });
      }
      throw error;
    }
  }

  async list(principal: Principal, page: { cursor?: string | undefined; limit: number }) {
    const rows = await this.sql.rows<ServerFields>(serverListQuery(ownedBy(principal), page));
    const reader = readerOf(principal);
    return toPage(rows, page.limit, (row) => row.id, (row) => toServerItem(row, reader));
  }

  async get(principal: Principal, id: string) {
    const server = await this.find(principal, id);
    const [records, certificate, incidents, turnSecrets, compliance, turnCertificates] = await Promise.all([
      this.prisma.dnsRecord.findMany({ where: { serverId: id, deletedAt: null, type: 'SRV' }, orderBy: { name: 'asc' } }),
      this.prisma.certificate.findFirst({ where: { serverId: id, status: 'active' }, orderBy: { createdAt: 'desc' } }),
      this.prisma.incident.findMany({ where: { serverId: id }, orderBy: { openedAt: 'desc' }, take: 10 }),
      this.prisma.turnSecret.count({ where: { serverId: id } }),
      this.prisma.complianceResult.findMany({ where: { serverId: id } }),
      server.nodeId ? this.prisma.nodeCertificate.count({ where: { nodeId: server.nodeId } }) : Promise.resolve(0),
    ]);
    // Calls are on once the server has its TURN secret on a node whose coturn is configured.
    const turnPort = server.node?.turnPort ?? null;
    const relayPorts = server.node?.turnRelayPorts ?? null;
    // TURN over TLS once the node's coturn serves a certificate for its TURN host.
    const tls = server.node?.turnTlsPort != null && turnCertificates > 0 ? { host: turnHostname(server.node.hostname), port: server.node.turnTlsPort } : null;
    const reader = readerOf(principal);
    return {
      ...toServerDto(server, reader),
      contacts: effectiveContacts(server.domain, contactAddressesOf(server.contactAddresses)),
      calls: turnSecrets > 0 && turnPort !== null && relayPorts !== null ? { turnPort, relayPorts, tls } : null,
      federationSeen: { outgoingAt: server.s2sOutgoingSeenAt?.toISOString() ?? null, incomingAt: server.s2sIncomingSeenAt?.toISOString() ?? null },
      compliance: complianceSummary(compliance),
      incidents: incidents.map((i) => ({
        id: i.id,
        kind: i.kind,
        status: i.status,
        openedAt: i.openedAt.toISOString(),
        resolvedAt: i.resolvedAt?.toISOString() ?? null,
        repairAttempts: i.repairAttempts,
        lastError: storedFailureText(reader, i.lastError, i.lastErrorType),
      })),
      srvRecords: records.map((r) => ({ name: r.name, value: r.value, ttl: r.ttl })),
      certificate: certificate
        ? {
            names: certificate.names,
            notAfter: certificate.notAfter?.toISOString() ?? null,
            renewAfter: certificate.renewAfter?.toISOString() ?? null,
            lastError: storedFailureText(reader, certificate.lastError, certificate.lastErrorType),
            blockedReason: certificate.blockedReason,
            nextAttemptAt: certificate.nextAttemptAt?.toISOString() ?? null,
            failureCount: certificate.failureCount,
          }
        : null,
    };
  }

  /** The timeline after an event id (exclusive), oldest first. */
  async events(principal: Principal, id: string, after: bigint, limit: number) {
    await this.find(principal, id);
    const rows = await this.prisma.provisioningEvent.findMany({ where: { serverId: id, id: { gt: after } }, orderBy: { id: 'asc' }, take: limit });
    const reader = readerOf(principal);
    return rows.map((e) => ({
      id: e.id.toString(),
      step: e.step,
      status: e.status,
      message: e.status === 'failed' ? failureText(reader, e) : e.message,
      attempt: e.attempt,
      maxAttempts: e.maxAttempts,
      willRetry: e.willRetry,
      errorType: e.errorType,
      downtimeMs: downtimeOf(e.detail),
      at: e.createdAt.toISOString(),
    }));
  }

  async state(principal: Principal, id: string) {
    const server = await this.find(principal, id);
    return { state: server.state, stateReason: storedFailureText(readerOf(principal), server.stateReason, server.stateReasonType) };
  }

  async act(principal: Principal, id: string, action: ServerAction, ip: string) {
    const server = await this.find(principal, id);
    if (server.desiredState === 'deleted') throw beingDeleted(id, action);
    if (!['ready', 'stopped'].includes(server.state)) {
      throw new HttpProblem(409, 'Not now', `The server is ${server.state}; ${action} is possible once it is ready or stopped. Watch GET /api/v1/servers/${id}/events.`);
    }
    const requestId = randomUUID();
    const desiredState = action === 'stop' ? 'stopped' : 'running';
    // The job only after the commit: a worker reading the row before it would take its own
    // request for one a later request superseded, and skip it.
    await this.changes.run(actorOf(principal, ip), {
      write: async (tx) => {
        // Matched on the desired state: a DELETE that committed since the read above wins.
        const { count } = await tx.server.updateMany({ where: { id, deletedAt: null, desiredState: { not: 'deleted' } }, data: { desiredState } });
        if (count === 0) throw beingDeleted(id, action);
        return { result: server.desiredState, audit: { action: `server.${action}`, targetType: 'server', targetId: id, detail: { name: server.name } } };
      },
      enqueue: () => this.jobs.serverAction(id, action, requestId),
      undo: async (tx, previous) => {
        await tx.server.updateMany({ where: { id, desiredState }, data: { desiredState: previous } });
      },
    });
    return { accepted: true, action, requestId };
  }

  async remove(principal: Principal, id: string, confirm: string, ip: string) {
    const server = await this.find(principal, id);
    if (confirm !== server.name) {
      throw new HttpProblem(400, 'Confirmation does not match', `Type the server's name ("${server.name}") in "confirm" to delete it. Parley keeps a final backup for a grace period, during which the deletion can be undone (GET /api/v1/deleted-servers).`, {
        errors: [{ in: 'body', field: 'confirm', message: `must be "${server.name}"` }],
      });
    }
    await this.prisma.$transaction(async (tx) => {
      await tx.server.update({ where: { id }, data: { desiredState: 'deleted' } });
      await this.audit.record(tx, actorOf(principal, ip), { action: 'server.delete', targetType: 'server', targetId: id, detail: { name: server.name, domain: server.domain } });
      await this.jobs.deprovision(id);
    });
  }

  /**
   * The admin password of the current issuance, once: marking it revealed and reading it is one
   * atomic update, so two concurrent reveals cannot both succeed.
   */
  async revealCredentials(principal: Principal, id: string, ip: string) {
    const server = await this.find(principal, id);
    assertOwnerReveals(principal, server.accountId, 'The admin password');
    const credential = await this.prisma.serverCredential.findFirst({ where: { serverId: id, kind: 'admin' }, orderBy: { issuance: 'desc' }, include: { secret: true } });
    if (!credential) {
      throw new HttpProblem(409, 'Not ready yet', `The admin account is created while the server is set up; it is ${server.state} now. Watch GET /api/v1/servers/${id}/events.`);
    }
    // A password Prosody does not have yet would not log in: keep it until the worker has set it.
    if (!credential.appliedAt) {
      throw new HttpProblem(
        409,
        'Not ready yet',
        `The ${credential.issuance === 1 ? '' : 'new '}admin password is being set on the server; reveal it in a few seconds (GET /api/v1/servers/${id}/events shows when it is done).`,
      );
    }
    const marked = await this.prisma.$transaction(async (tx) => {
      const { count } = await tx.encryptedSecret.updateMany({ where: { id: credential.secretId, revealedAt: null, destroyedAt: null }, data: { revealedAt: new Date() } });
      if (count === 1) {
        await this.audit.record(tx, actorOf(principal, ip), { action: 'credential.reveal', targetType: 'server', targetId: id, detail: { issuance: credential.issuance } });
      }
      return count === 1;
    });
    if (!marked) {
      throw new HttpProblem(
        410,
        'Already revealed',
        `The admin password was shown once already${credential.secret.revealedAt ? ` (${credential.secret.revealedAt.toISOString()})` : ''} and is not kept for showing again. Get a new one with POST /api/v1/servers/${id}/credentials/reset.`,
      );
    }
    return { jid: credential.jid, password: this.secrets.open(credential.secret, adminSecretContext(id)), issuance: credential.issuance };
  }

  async resetCredentials(principal: Principal, id: string, ip: string) {
    const server = await this.find(principal, id);
    if (server.state !== 'ready') throw new HttpProblem(409, 'Not now', `The server is ${server.state}; the admin password can be reset once it is ready.`);
    const current = await this.prisma.serverCredential.findFirst({ where: { serverId: id, kind: 'admin' }, orderBy: { issuance: 'desc' } });
    const issuance = (current?.issuance ?? 1) + 1;
    await this.prisma.$transaction(async (tx) => {
      await this.audit.record(tx, actorOf(principal, ip), { action: 'credential.reset', targetType: 'server', targetId: id, detail: { issuance } });
      await this.jobs.adminReset(id, issuance);
    });
    return { issuance, next: `Reveal it with POST /api/v1/servers/${id}/credentials/reveal once the timeline shows the reset.` };
  }

  /**
   * Queues the replacement of the server's TURN secret (one that leaked): credentials handed out
   * under the old one are refused once the new one is in use; apps fetch new ones by themselves.
   */
  async rotateCallsSecret(principal: Principal, id: string, ip: string) {
    const server = await this.find(principal, id);
    if (!['ready', 'stopped'].includes(server.state)) throw new HttpProblem(409, 'Not now', `The server is ${server.state}; its calls secret can be replaced once it is ready or stopped.`);
    const latest = await this.prisma.turnSecret.findFirst({ where: { serverId: id }, orderBy: { version: 'desc' } });
    if (!latest) throw new HttpProblem(409, 'No calls secret', 'This server offers no calls through the platform relay, so it has no calls secret to replace.');
    const version = latest.version + 1;
    await this.changes.run(actorOf(principal, ip), {
      write: () => Promise.resolve({ result: version, audit: { action: 'server.calls_secret_rotate', targetType: 'server', targetId: id, detail: { version } } }),
      enqueue: () => this.jobs.turnRotation(id, version),
      undo: () => Promise.resolve(),
    });
    return { version };
  }

  /** Queues the XEP-0479 checks of a ready server again; one already waiting is kept. */
  async checkCompliance(principal: Principal, id: string, ip: string) {
    const server = await this.find(principal, id);
    if (server.state !== 'ready') throw new HttpProblem(409, 'Not now', `The server is ${server.state}; its compliance can be checked once it is ready.`);
    await this.changes.run(actorOf(principal, ip), {
      write: () => Promise.resolve({ result: undefined, audit: { action: 'server.compliance_check', targetType: 'server', targetId: id, detail: { name: server.name } } }),
      enqueue: () => this.jobs.complianceCheck(id),
      undo: () => Promise.resolve(),
    });
    return { accepted: true };
  }

  /**
   * Sets the server's XEP-0157 contact addresses (abuse, support, security); the admin address
   * is always its admin account. Applied by a job that reloads Prosody's configuration.
   */
  async setContacts(principal: Principal, id: string, contacts: ContactAddresses, ip: string) {
    const server = await this.find(principal, id);
    const problems = Object.entries(contactAddressesProblems(contacts));
    if (problems.length > 0) {
      throw new HttpProblem(400, 'Invalid contact address', CONTACT_ADDRESS_RULE, { errors: problems.map(([field, message]) => ({ in: 'body', field, message })) });
    }
    if (server.desiredState === 'deleted') throw beingDeleted(id, 'change its contact addresses');
    const stored = Object.fromEntries(CONTACT_KINDS.map((kind) => [kind, contacts[kind] ?? []]));
    const revision = await this.changes.run(actorOf(principal, ip), {
      write: async (tx) => {
        const updated = await tx.server.update({ where: { id }, data: { contactAddresses: stored, contactsRevision: { increment: 1 } }, select: { contactsRevision: true } });
        return { result: updated.contactsRevision, audit: { action: 'server.contacts_update', targetType: 'server', targetId: id, detail: { revision: updated.contactsRevision, ...stored } } };
      },
      enqueue: (next) => this.jobs.serverConfig(id, next),
      undo: async (tx, next) => {
        await tx.server.updateMany({ where: { id, contactsRevision: next }, data: { contactAddresses: contactAddressesOf(server.contactAddresses), contactsRevision: next - 1 } });
      },
    });
    return { contacts: effectiveContacts(server.domain, stored), revision };
  }

  private async find(principal: Principal, id: string): Promise<ServerRow> {
    const server = await this.prisma.server.findFirst({ where: { id, deletedAt: null, ...ownedBy(principal) }, include: withDetail });
    if (!server) throw notFound('server', id, LIST_HINT);
    return server;
  }
}

/** The latest result of each check the platform knows, in its list's order; null before the first run. */
function complianceSummary(rows: { checkId: string; passed: boolean; reason: string; detail: string; checkedAt: Date }[]) {
  if (rows.length === 0) return null;
  const byId = new Map(rows.map((row) => [row.checkId, row]));
  const checks = COMPLIANCE_CHECK_IDS.flatMap((checkId) => {
    const row = byId.get(checkId);
    if (!row) return [];
    const info = COMPLIANCE_CHECKS[checkId];
    return [{ id: checkId, title: info.title, spec: info.spec, category: info.category, passed: row.passed, reason: row.reason, detail: row.detail, checkedAt: row.checkedAt.toISOString() }];
  });
  const checkedAt = rows.reduce((latest, row) => (row.checkedAt > latest ? row.checkedAt : latest), rows[0]?.checkedAt ?? new Date(0));
  return { passed: checks.filter((c) => c.passed).length, total: checks.length, checkedAt: checkedAt.toISOString(), checks };
}

/** What the server publishes (XEP-0157): the admin account always, abuse falling back to it. */
function effectiveContacts(domain: string, set: ContactAddresses): Record<'admin' | ContactKind, string[]> {
  const admin = [`xmpp:admin@${domain}`];
  const abuse = set.abuse ?? [];
  return { admin, abuse: abuse.length > 0 ? abuse : admin, support: set.support ?? [], security: set.security ?? [] };
}

/** The downtime a move's `succeeded` event measured (its detail's `downtimeMs`), else null. */
function downtimeOf(detail: unknown): number | null {
  const value = typeof detail === 'object' && detail !== null ? (detail as Record<string, unknown>).downtimeMs : undefined;
  return typeof value === 'number' ? value : null;
}
