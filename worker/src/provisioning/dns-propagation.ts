import { Resolver } from 'node:dns/promises';
import { isIPv6 } from 'node:net';
import type { DnsRecord } from '../ports/dns-provider.js';

// Asks the authoritative server itself whether record values are visible, before anything that
// depends on them (the CA's DNS-01 validation, a client login) is started. A provider accepting
// a change says nothing about what its name servers answer yet.

export interface PropagationOptions {
  /** The whole wait, across every round of queries. */
  timeoutMs: number;
  /** Pause between rounds. */
  intervalMs: number;
  /** One query's timeout; defaults to the smaller of 2 s and timeoutMs. */
  queryTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function canonical(type: DnsRecord['type'], value: string): string {
  const v = value.trim();
  switch (type) {
    case 'TXT':
      return value;
    case 'A':
      return v;
    case 'AAAA':
      return isIPv6(v) ? new URL(`http://[${v}]/`).hostname.slice(1, -1) : v.toLowerCase();
    case 'CNAME':
      return `${v.toLowerCase().replace(/\.$/, '')}.`;
    case 'SRV':
      return v
        .split(/\s+/)
        .map((field, i) => (i === 3 ? `${field.toLowerCase().replace(/\.$/, '')}.` : field))
        .join(' ');
  }
}

/** The values the server answers for one name and type, canonical; empty when there are none. */
async function lookup(resolver: Resolver, name: string, type: DnsRecord['type']): Promise<string[]> {
  try {
    switch (type) {
      case 'TXT':
        return (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
      case 'A':
        return await resolver.resolve4(name);
      case 'AAAA':
        return (await resolver.resolve6(name)).map((address) => canonical('AAAA', address));
      case 'CNAME':
        return (await resolver.resolveCname(name)).map((target) => canonical('CNAME', target));
      case 'SRV':
        // The root target (".", "no such service") comes back as an empty name.
        return (await resolver.resolveSrv(name)).map((srv) => canonical('SRV', `${srv.priority} ${srv.weight} ${srv.port} ${srv.name || '.'}`));
    }
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENODATA' || code === 'ENOTFOUND') return [];
    throw error;
  }
}

interface Pending {
  record: DnsRecord;
  server: string;
}

/** One round: the records whose visibility is not yet as wanted, and the last query error. */
async function round(servers: string[], records: readonly DnsRecord[], wantVisible: boolean, queryTimeoutMs: number) {
  const pending: Pending[] = [];
  let lastError: string | undefined;
  for (const server of servers) {
    // A fresh resolver each round: no answer cached by an earlier round can hide a change.
    const resolver = new Resolver({ timeout: queryTimeoutMs, tries: 1 });
    resolver.setServers([server]);
    const answers = new Map<string, Promise<string[] | Error>>();
    for (const record of records) {
      const key = `${record.name} ${record.type}`;
      if (!answers.has(key)) {
        answers.set(
          key,
          lookup(resolver, record.name, record.type).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))),
        );
      }
    }
    for (const record of records) {
      const answer = await answers.get(`${record.name} ${record.type}`);
      if (answer instanceof Error) {
        lastError = `${server}: ${(answer as { code?: string }).code ?? answer.message}`;
        pending.push({ record, server });
        continue;
      }
      const visible = answer?.includes(canonical(record.type, record.value)) ?? false;
      if (visible !== wantVisible) pending.push({ record, server });
    }
  }
  return { pending, lastError };
}

async function waitFor(resolvers: string | readonly string[], records: readonly DnsRecord[], wantVisible: boolean, options: PropagationOptions): Promise<void> {
  const servers = typeof resolvers === 'string' ? [resolvers] : [...resolvers];
  const deadline = Date.now() + options.timeoutMs;
  const queryTimeoutMs = options.queryTimeoutMs ?? Math.max(1, Math.min(2_000, options.timeoutMs));
  for (;;) {
    const { pending, lastError } = await round(servers, records, wantVisible, queryTimeoutMs);
    if (pending.length === 0) return;
    if (Date.now() + options.intervalMs > deadline) {
      const listed = pending
        .slice(0, 5)
        .map(({ record, server }) => `${record.type} ${record.name} "${record.value}" at ${server}`)
        .join('; ');
      const more = pending.length > 5 ? ` and ${pending.length - 5} more` : '';
      const state = wantVisible ? 'still not visible' : 'still answered';
      const error = lastError ? ` (last query error ${lastError})` : '';
      throw new Error(`DNS ${state} after ${options.timeoutMs} ms: ${listed}${more}${error}`);
    }
    await sleep(options.intervalMs);
  }
}

/**
 * Waits until every record value is answered by the authoritative server(s) at `resolver`
 * (`ADDRESS:PORT`, or several that must all answer). Other values at the same name are fine.
 */
export function waitForRecords(resolver: string | readonly string[], records: readonly DnsRecord[], options: PropagationOptions): Promise<void> {
  return waitFor(resolver, records, true, options);
}

/** Waits until none of these record values is answered any more. */
export function waitForAbsence(resolver: string | readonly string[], records: readonly DnsRecord[], options: PropagationOptions): Promise<void> {
  return waitFor(resolver, records, false, options);
}
