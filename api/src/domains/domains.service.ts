import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { PrismaClient } from '../../../prisma/client.js';
import type { Prisma } from '../../../prisma/generated/client/client.js';
import { actorOf, type AuditService } from '../audit/audit.service.js';
import type { DomainClaimRules, RateLimit } from '../config.js';
import type { AttemptLimiter } from '../auth/attempt-limiter.js';
import { lockAccount } from '../accounts/account-lock.js';
import { ownedBy, type Principal } from '../auth/principal.js';
import { HttpProblem, notFound } from '../http/problem.js';
import { toPage } from '../http/schemas.js';
import { DnsLookup, ResolverUnreachableError, dnsUnavailable } from './dns-lookup.js';
import {
  checkCustomDomain,
  checkOf,
  checkRecord,
  missingRequired,
  planDomainRecords,
  RECORD_TYPES,
  statusAfterCheck,
  type PlannedRecord,
  type RecordCheck,
} from './domain-records.js';
import { isUniqueViolation } from '../../../prisma/errors.js';

export const DOMAINS_LIST_HINT = 'GET /api/v1/domains';
const DAY_MS = 24 * 60 * 60 * 1000;

// The live server on the domain (at most one, by a partial unique index): its ports complete the SRV records.
const withServer = { servers: { where: { deletedAt: null }, include: { portAllocations: true } } } as const;
type DomainRow = Prisma.DomainGetPayload<{ include: typeof withServer }>;

/** Domain.checks as verify() writes it; anything else (a hand-edited row) reads as "not checked". */
const storedChecksSchema = z.array(
  z.object({
    name: z.string(),
    type: z.enum(RECORD_TYPES),
    required: z.boolean(),
    expected: z.string(),
    found: z.array(z.string()),
    ok: z.boolean(),
    message: z.string(),
  }),
);

export function storedChecks(value: unknown): RecordCheck[] {
  const parsed = storedChecksSchema.safeParse(value);
  return parsed.success ? parsed.data : [];
}

export class DomainService {
  private readonly dns: DnsLookup;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly audit: AuditService,
    private readonly platformZone: string,
    dnsResolver: string | null,
    private readonly claims: DomainClaimRules,
    private readonly limiter: AttemptLimiter,
    private readonly verifyLimit: RateLimit,
  ) {
    this.dns = new DnsLookup(dnsResolver);
  }

  async create(principal: Principal, input: { name: string }, ip: string) {
    const checked = checkCustomDomain(input.name, this.platformZone);
    if (!checked.ok) {
      throw new HttpProblem(400, 'Invalid domain name', checked.reason, { errors: [{ in: 'body', field: 'name', message: checked.reason }] });
    }
    const name = checked.domain;
    try {
      const created = await this.prisma.$transaction(async (tx) => {
        await lockAccount(tx, principal.accountId);
        await refuseVerifiedElsewhere(tx, principal, name);
        await this.replaceExpiredClaim(tx, principal, name, ip);
        await this.refuseOverPendingLimit(tx, principal);
        const row = await tx.domain.create({
          data: { accountId: principal.accountId, name, verificationToken: randomBytes(16).toString('hex') },
          include: withServer,
        });
        await this.audit.record(tx, actorOf(principal, ip), { action: 'domain.create', targetType: 'domain', targetId: row.id, detail: { name } });
        return row;
      });
      return this.toDto(created);
    } catch (error) {
      if (isUniqueViolation(error)) throw await this.alreadyAdded(principal, name);
      throw error;
    }
  }

  /** Live domains, newest first; ids are UUIDv7, so id order is creation order. */
  async list(principal: Principal, page: { cursor?: string | undefined; limit: number }) {
    const rows = await this.prisma.domain.findMany({
      where: { ...ownedBy(principal), deletedAt: null, ...(page.cursor === undefined ? {} : { id: { lt: page.cursor } }) },
      include: withServer,
      orderBy: { id: 'desc' },
      take: page.limit + 1,
    });
    return toPage(rows, page.limit, (row) => row.id, (row) => this.toDto(row));
  }

  async get(principal: Principal, id: string) {
    return this.toDto(await this.find(principal, id));
  }

  /** Looks every record up now, through the configured resolver, and stores the result. */
  async verify(principal: Principal, id: string, ip: string) {
    const domain = await this.find(principal, id);
    await this.limiter.hit([{ scope: 'domain-verify-account', subject: principal.accountId, limit: this.verifyLimit, description: 'domain verifications for your account' }]);
    await this.refuseUnverifiable(domain);
    const records = this.recordsOf(domain);
    const checks = await this.lookUp(domain, records);
    const status = statusAfterCheck(records, checks, domain.status);
    const now = new Date();
    const verifiedAt = status === 'verified' && domain.status !== 'verified' ? now : domain.verifiedAt;

    try {
      await this.prisma.$transaction(async (tx) => {
        // Matching on deletedAt: a domain deleted while its lookups ran stays deleted.
        const { count } = await tx.domain.updateMany({
          where: { id, deletedAt: null },
          data: { checks: checks as unknown as Prisma.InputJsonValue, lastCheckedAt: now, status, verifiedAt },
        });
        if (count === 0) throw notFound('domain', id, DOMAINS_LIST_HINT);
        await this.audit.record(tx, actorOf(principal, ip), {
          action: 'domain.verify',
          targetType: 'domain',
          targetId: id,
          detail: { name: domain.name, status, failing: missingRequired(records, checks).map((r) => `${r.type} ${r.name}`) },
        });
      });
    } catch (error) {
      // domains_name_verified_key: another account's claim was verified first, perhaps while these lookups ran.
      if (isUniqueViolation(error)) throw verifiedFirst(domain);
      throw error;
    }
    return this.toDto({ ...domain, checks: checks as unknown as Prisma.JsonValue, lastCheckedAt: now, status, verifiedAt });
  }

  /** Soft delete, refused while a live server uses the domain. */
  async remove(principal: Principal, id: string, ip: string): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const domain = await tx.domain.findFirst({ where: { id, deletedAt: null, ...ownedBy(principal) } });
      if (!domain) throw notFound('domain', id, DOMAINS_LIST_HINT);
      // FOR UPDATE waits for an order that holds this row (requireVerifiedDomain locks it FOR
      // SHARE), so the count below sees that order's server once it commits.
      await tx.$queryRaw`SELECT id FROM domains WHERE id = ${id}::uuid FOR UPDATE`;
      const server = await tx.server.findFirst({ where: { customDomainId: id, deletedAt: null }, select: { id: true, name: true } });
      if (server) {
        throw new HttpProblem(
          409,
          'Domain in use',
          `Server ${server.name} (id ${server.id}) runs on ${domain.name}: delete it first (DELETE /api/v1/servers/${server.id}), then the domain.`,
        );
      }
      const { count } = await tx.domain.updateMany({ where: { id, deletedAt: null }, data: { deletedAt: new Date() } });
      if (count === 0) throw notFound('domain', id, DOMAINS_LIST_HINT);
      await this.audit.record(tx, actorOf(principal, ip), {
        action: 'domain.delete',
        targetType: 'domain',
        targetId: id,
        detail: { name: domain.name, status: domain.status, owner: domain.accountId },
      });
    });
  }

  private async find(principal: Principal, id: string): Promise<DomainRow> {
    const domain = await this.prisma.domain.findFirst({ where: { id, deletedAt: null, ...ownedBy(principal) }, include: withServer });
    if (!domain) throw notFound('domain', id, DOMAINS_LIST_HINT);
    return domain;
  }

  /** The 409 for a name the caller already has a live claim on (domains_account_name_live_key). */
  private async alreadyAdded(principal: Principal, name: string): Promise<HttpProblem> {
    const existing = await this.prisma.domain.findFirst({ where: { accountId: principal.accountId, name, deletedAt: null }, select: { id: true } });
    const where = existing ? `: see GET /api/v1/domains/${existing.id}` : '';
    return new HttpProblem(409, 'Domain already added', `You have already added ${name}${where}.`, {
      errors: [{ in: 'body', field: 'name', message: 'is already added' }],
    });
  }

  /** An expired claim, or one whose name another account has verified: a 409 before any lookup. */
  private async refuseUnverifiable(domain: DomainRow): Promise<void> {
    if (this.isExpired(domain)) {
      throw new HttpProblem(409, 'Domain claim expired', this.expiredDetail(domain));
    }
    // Only a quick answer: the unique index decides when two verifications race.
    const owner = await verifiedOwner(this.prisma, domain.name);
    if (owner && owner.id !== domain.id) throw verifiedFirst(domain);
  }

  /** The check of every record, or a 503 when the resolver does not answer. */
  private async lookUp(domain: DomainRow, records: PlannedRecord[]): Promise<RecordCheck[]> {
    try {
      const lookups = await this.dns.lookupAll(records);
      return records.map((record, i) => checkRecord(record, lookups[i] ?? { kind: 'none' }));
    } catch (error) {
      if (!(error instanceof ResolverUnreachableError)) throw error;
      throw dnsUnavailable(error, domain.name);
    }
  }

  /** When a pending claim stops reserving anything and can no longer be verified; null once verified. */
  private expiresAt(domain: { status: string; createdAt: Date }): Date | null {
    return domain.status === 'pending' ? new Date(domain.createdAt.getTime() + this.claims.pendingTtlDays * DAY_MS) : null;
  }

  private isExpired(domain: { status: string; createdAt: Date }): boolean {
    const at = this.expiresAt(domain);
    return at !== null && at.getTime() <= Date.now();
  }

  private expiredDetail(domain: { name: string }): string {
    return `${domain.name} was not verified within ${this.claims.pendingTtlDays} days of being added, so this claim expired: it reserves nothing and cannot be verified. To use the domain, add it again (POST /api/v1/domains with the same name) and create the new records that answer lists.`;
  }

  /** Claims added at or before this moment have expired unless verified. */
  private expiryCutoff(): Date {
    return new Date(Date.now() - this.claims.pendingTtlDays * DAY_MS);
  }

  /** Adding a name again replaces the caller's expired claim on it, which would otherwise hold the (account, name) index. */
  private async replaceExpiredClaim(tx: Prisma.TransactionClient, principal: Principal, name: string, ip: string): Promise<void> {
    const where = { accountId: principal.accountId, name, deletedAt: null, status: 'pending', createdAt: { lte: this.expiryCutoff() } } as const;
    const expired = await tx.domain.findFirst({ where, select: { id: true } });
    if (!expired) return;
    await tx.domain.update({ where: { id: expired.id }, data: { deletedAt: new Date() } });
    await this.audit.record(tx, actorOf(principal, ip), {
      action: 'domain.delete',
      targetType: 'domain',
      targetId: expired.id,
      detail: { name, status: 'expired', owner: principal.accountId },
    });
  }

  private async refuseOverPendingLimit(tx: Prisma.TransactionClient, principal: Principal): Promise<void> {
    const { pendingLimit, pendingTtlDays } = this.claims;
    const pending = await tx.domain.count({
      where: { accountId: principal.accountId, deletedAt: null, status: 'pending', createdAt: { gt: this.expiryCutoff() } },
    });
    if (pending < pendingLimit) return;
    throw new HttpProblem(
      409,
      'Too many pending domains',
      `You have ${pending} domains waiting for verification, the most an account may have. Verify one (POST /api/v1/domains/{id}/verify) or delete one you no longer need (DELETE /api/v1/domains/{id}), then add this one again; unverified domains also expire ${pendingTtlDays} days after they were added.`,
    );
  }

  private recordsOf(domain: DomainRow): PlannedRecord[] {
    const server = domain.servers[0];
    const port = (purpose: string) => server?.portAllocations.find((a) => a.purpose === purpose)?.port;
    return planDomainRecords({
      id: domain.id,
      name: domain.name,
      verificationToken: domain.verificationToken,
      platformZone: this.platformZone,
      server: server ? { federation: server.federation, ports: { c2s: port('c2s'), c2sDirectTls: port('c2s_direct_tls'), s2s: port('s2s') } } : null,
    });
  }

  private toDto(domain: DomainRow) {
    const records = this.recordsOf(domain);
    const checks = storedChecks(domain.checks);
    const expired = this.isExpired(domain);
    return {
      id: domain.id,
      accountId: domain.accountId,
      name: domain.name,
      status: expired ? ('expired' as const) : domain.status,
      statusDetail: expired ? this.expiredDetail(domain) : statusDetail(domain, records, checks),
      expiresAt: this.expiresAt(domain)?.toISOString() ?? null,
      verifiedAt: domain.verifiedAt?.toISOString() ?? null,
      lastCheckedAt: domain.lastCheckedAt?.toISOString() ?? null,
      createdAt: domain.createdAt.toISOString(),
      records: records.map((record) => {
        const check = checkOf(record, checks);
        return {
          name: record.name,
          type: record.type,
          value: record.value,
          purpose: record.purpose,
          required: record.required,
          description: record.description,
          check: check && { expected: check.expected, found: check.found, ok: check.ok, message: check.message },
        };
      }),
    };
  }
}

/** The live domain of this name that passed verification (verified, or failed since), if any. */
function verifiedOwner(db: Pick<Prisma.TransactionClient, 'domain'>, name: string) {
  return db.domain.findFirst({ where: { name, deletedAt: null, status: { in: ['verified', 'failed'] } }, select: { id: true, accountId: true } });
}

/** Adding a name another account has verified is pointless: only that account can use it. */
async function refuseVerifiedElsewhere(tx: Prisma.TransactionClient, principal: Principal, name: string): Promise<void> {
  const owner = await verifiedOwner(tx, name);
  if (!owner || owner.accountId === principal.accountId) return;
  throw new HttpProblem(409, 'Domain verified by another account', `Another account has already verified ${name}. If the domain is yours, contact support.`, {
    errors: [{ in: 'body', field: 'name', message: 'is verified by another account' }],
  });
}

function verifiedFirst(domain: { id: string; name: string }): HttpProblem {
  return new HttpProblem(
    409,
    'Domain verified by another account',
    `Another account verified ${domain.name} first, so this claim cannot be verified. If the domain is yours, contact support; otherwise delete this claim (DELETE /api/v1/domains/${domain.id}).`,
  );
}

function statusDetail(domain: DomainRow, records: PlannedRecord[], checks: RecordCheck[]): string {
  const verify = `POST /api/v1/domains/${domain.id}/verify`;
  if (domain.status === 'verified') return `Verified: you can order a server on ${domain.name}.`;
  const required = records.filter((r) => r.required).length;
  if (domain.lastCheckedAt === null) return `Create the ${required} required records below at your DNS host, then check them with ${verify}.`;
  const missing = missingRequired(records, checks).length;
  const wrong = `${missing} of ${required} required records ${missing === 1 ? 'is' : 'are'} missing or wrong (each record's check says what to fix)`;
  if (domain.status === 'failed') {
    return `Was verified, but ${wrong}: until they are fixed no server can be ordered on ${domain.name} and its certificates cannot be renewed. Fix them, then ${verify}.`;
  }
  return `${wrong}. Fix them, then ${verify}.`;
}
