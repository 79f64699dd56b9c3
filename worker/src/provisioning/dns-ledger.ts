import type { PrismaClient } from '../../../prisma/client.js';
import type { DnsRecordPurpose } from '../../../prisma/generated/client/enums.js';
import type { DnsProvider, DnsRecord } from '../ports/dns-provider.js';
import { isUniqueViolation } from '../../../prisma/errors.js';

export interface LedgerEntry {
  record: DnsRecord;
  purpose: DnsRecordPurpose;
}

/** Who a record is for: a hosted server, or the node itself (its TURN host name). */
export type RecordOwner = { serverId: string } | { nodeId: string };

const key = (r: Pick<DnsRecord, 'name' | 'type' | 'value'>) => `${r.name}|${r.type}|${r.value}`;

/**
 * Every DNS write goes through here, so Parley only ever changes or deletes values it can prove
 * it created. The ledger row is written before the provider call: a crash in between leaves
 * the proof behind, and the re-run finishes the write instead of treating the value as foreign.
 */
export class DnsLedger {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly dns: DnsProvider,
    private readonly zone: string,
  ) {}

  /**
   * Publishes the entries and returns the ones left alone: a value already in the zone that
   * the ledger doesn't own belongs to someone else and is neither claimed nor touched.
   */
  async publish(owner: RecordOwner, entries: LedgerEntry[]): Promise<LedgerEntry[]> {
    const owned = await this.liveRows(entries.map((e) => e.record));
    const foreign = new Set((await this.foreignAt(entries.filter((e) => !owned.has(key(e.record))).map((e) => e.record.name))).map(key));
    const ours = entries.filter((e) => !foreign.has(key(e.record)) || owned.has(key(e.record)));
    await this.write(owner, ours, owned);
    return entries.filter((e) => !ours.includes(e));
  }

  /**
   * Publishes the entries only where their names hold nothing the ledger doesn't own; otherwise
   * publishes nothing and returns those foreign values (one look at each name serves both).
   */
  async publishIfFree(owner: RecordOwner, entries: LedgerEntry[]): Promise<DnsRecord[]> {
    const foreign = await this.foreignAt(entries.map((e) => e.record.name));
    if (foreign.length > 0) return foreign;
    await this.write(owner, entries, await this.liveRows(entries.map((e) => e.record)));
    return [];
  }

  /** The values at these names that the ledger does not own: someone else's records. */
  private async foreignAt(names: string[]): Promise<DnsRecord[]> {
    const existing = (await Promise.all([...new Set(names)].map((name) => this.dns.listRecords(this.zone, name)))).flat();
    const owned = await this.liveRows(existing);
    return existing.filter((r) => !owned.has(key(r)));
  }

  /** The ledger row first (the proof survives a crash before the provider call), then the zone. */
  private async write(owner: RecordOwner, entries: LedgerEntry[], owned: ReadonlySet<string>): Promise<void> {
    for (const entry of entries.filter((e) => !owned.has(key(e.record)))) {
      await this.prisma.dnsRecord
        .create({
          data: { provider: this.dns.kind, zone: this.zone, ...owner, purpose: entry.purpose, ...entry.record },
        })
        .catch((error: unknown) => {
          if (!isUniqueViolation(error)) throw error; // a concurrent run wrote it first: same proof
        });
    }
    if (entries.length > 0) {
      await this.dns.addRecords(this.zone, entries.map((e) => e.record));
      await this.prisma.dnsRecord.updateMany({
        where: { provider: this.dns.kind, zone: this.zone, deletedAt: null, appliedAt: null, OR: entries.map((e) => this.match(e.record)) },
        data: { appliedAt: new Date() },
      });
    }
  }

  /** Removes the owner's ledger-owned records (all, or one purpose); values gone already are fine. */
  async withdraw(owner: RecordOwner, purpose?: DnsRecordPurpose): Promise<number> {
    const rows = await this.prisma.dnsRecord.findMany({
      where: { ...owner, provider: this.dns.kind, zone: this.zone, deletedAt: null, ...(purpose ? { purpose } : {}) },
    });
    return this.remove(rows.map(({ name, type, value, ttl }) => ({ name, type, value, ttl })));
  }

  /**
   * Removes the owner's values under the purposes of `current` that `current` no longer has:
   * where the server ran before a move (its old address and ports), or the node's old address.
   */
  async withdrawStale(owner: RecordOwner, current: LedgerEntry[]): Promise<number> {
    const keep = new Set(current.map((e) => key(e.record)));
    const rows = await this.prisma.dnsRecord.findMany({
      where: { ...owner, provider: this.dns.kind, zone: this.zone, deletedAt: null, purpose: { in: [...new Set(current.map((e) => e.purpose))] } },
    });
    return this.remove(rows.filter((r) => !keep.has(key(r))).map(({ name, type, value, ttl }) => ({ name, type, value, ttl })));
  }

  /** Removes exactly these values, and only those the ledger owns. */
  async withdrawValues(records: DnsRecord[]): Promise<number> {
    const owned = await this.liveRows(records);
    return this.remove(records.filter((r) => owned.has(key(r))));
  }

  private async remove(records: DnsRecord[]): Promise<number> {
    if (records.length === 0) return 0;
    await this.dns.removeRecords(this.zone, records);
    await this.prisma.dnsRecord.updateMany({
      where: { provider: this.dns.kind, zone: this.zone, deletedAt: null, OR: records.map((r) => this.match(r)) },
      data: { deletedAt: new Date() },
    });
    return records.length;
  }

  private async liveRows(records: DnsRecord[]): Promise<Set<string>> {
    if (records.length === 0) return new Set();
    const rows = await this.prisma.dnsRecord.findMany({
      where: { provider: this.dns.kind, zone: this.zone, deletedAt: null, OR: records.map((r) => this.match(r)) },
      select: { name: true, type: true, value: true },
    });
    return new Set(rows.map(key));
  }

  private match(r: DnsRecord) {
    return { name: r.name, type: r.type, value: r.value };
  }
}
