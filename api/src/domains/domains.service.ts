import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { PrismaClient } from '../../../prisma/client.js';
import type { Prisma } from '../../../prisma/generated/client/client.js';
import { actorOf, type AuditService } from '../audit/audit.service.js';
import { ownedBy, type Principal } from '../auth/principal.js';
import { HttpProblem, notFound } from '../http/problem.js';
import { toPage } from '../http/schemas.js';
import { DnsLookup, ResolverUnreachableError } from './dns-lookup.js';
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
const RETRY_AFTER_SECONDS = 5;

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
        const row = await tx.domain.create({
          data: { accountId: principal.accountId, name, verificationToken: randomBytes(16).toString('hex') },
          include: withServer,
        });
        await this.audit.record(tx, actorOf(principal, ip), { action: 'domain.create', targetType: 'domain', targetId: row.id, detail: { name } });
        return row;
      });
      return this.toDto(created);
    } catch (error) {
      if (isUniqueViolation(error)) throw await this.taken(principal, name);
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
    const records = this.recordsOf(domain);
    let lookups;
    try {
      lookups = await this.dns.lookupAll(records);
    } catch (error) {
      if (!(error instanceof ResolverUnreachableError)) throw error;
      throw new HttpProblem(
        503,
        'Service unavailable',
        `DNS could not be asked: the resolver ${error.resolver} did not answer, so ${domain.name} was not checked and nothing was changed. Try again in a few seconds.`,
        { dependency: 'dns' },
        { 'retry-after': String(RETRY_AFTER_SECONDS) },
      );
    }
    const checks = records.map((record, i) => checkRecord(record, lookups[i] ?? { kind: 'none' }));
    const status = statusAfterCheck(records, checks, domain.status);
    const now = new Date();
    const verifiedAt = status === 'verified' && domain.status !== 'verified' ? now : domain.verifiedAt;

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

  /** The 409 for a name that is already live: the caller's own (with where to find it) or someone else's. */
  private async taken(principal: Principal, name: string): Promise<HttpProblem> {
    const existing = await this.prisma.domain.findFirst({ where: { name, deletedAt: null }, select: { id: true, accountId: true } });
    const detail =
      existing?.accountId === principal.accountId
        ? `You have already added ${name}: see GET /api/v1/domains/${existing.id}.`
        : `${name} has already been added by another account. If the domain is yours, contact support.`;
    return new HttpProblem(409, 'Domain already added', detail, { errors: [{ in: 'body', field: 'name', message: 'is already added' }] });
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
    return {
      id: domain.id,
      accountId: domain.accountId,
      name: domain.name,
      status: domain.status,
      statusDetail: statusDetail(domain, records, checks),
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
