import type { PrismaClient } from '../../../prisma/client.js';
import type { ContainerRuntime } from '../ports/container-runtime.js';
import type { ProvisioningSettings } from '../provisioning/step-deps.js';
import { parseUsageAnswer, usageLua, type ProsodyUsage } from '../usage/prosody-usage.js';
import { usageCountedSince, usageSampleWrites } from '../usage/usage-sample.js';
import { censusLua, parseCensusAnswer, type ProsodyCensus } from './prosody-invites.js';
import { luaLine, prosodyShell } from './prosody-shell.js';
import { isComplianceAccount } from '../contracts/compliance.js';
import { orderYield } from '../housekeeping/order-yield.js';

export interface CensusDeps {
  prisma: PrismaClient;
  containers: ContainerRuntime;
  settings: Pick<ProvisioningSettings, 'usageRetentionDays' | 'censusYield'>;
}

/** What a census did, as data: its job's result, and what tests read. */
export interface CensusReport {
  /** Servers counted. */
  counted: number;
  /** The domains of those that did not answer: counted next time. */
  failed: string[];
  /** Invites found used since the last census. */
  redeemed: number;
  /** How long the census stood aside for orders in flight. */
  yieldedMs: number;
}

/**
 * Counts what each ready server's Prosody really holds (and notes its server-to-server connections), so seats are counted on real accounts:
 * an account made through an invite has no user row, and its invite, once used, is no longer
 * open. Invites Prosody no longer holds before their expiry were used: they become `redeemed`.
 * Each count is also the server's usage sample (seats, sessions, storage, messages sent since the last one).
 * One server failing (being restarted, say) is left for the next census; the others go on.
 * Before each server it waits, bounded, while an order is being built on that server's node.
 */
export async function takeAccountCensus(deps: CensusDeps, now: Date): Promise<CensusReport> {
  const servers = await deps.prisma.server.findMany({
    where: { state: 'ready', desiredState: 'running', deletedAt: null },
    select: { id: true, domain: true, nodeId: true, readyAt: true, createdAt: true, credentials: { select: { jid: true }, orderBy: { issuance: 'desc' }, take: 1 } },
  });
  const failed: string[] = [];
  let redeemed = 0;
  let yieldedMs = 0;
  const yieldToOrders = orderYield(deps.prisma, deps.settings.censusYield);
  for (const server of servers) {
    yieldedMs += await yieldToOrders(server.nodeId);
    try {
      redeemed += await censusOf(deps, server, now);
    } catch {
      failed.push(server.domain);
    }
  }
  return { counted: servers.length - failed.length, failed, redeemed, yieldedMs };
}

async function censusOf(deps: CensusDeps, server: { id: string; domain: string; readyAt: Date | null; createdAt: Date; credentials: { jid: string }[] }, now: Date): Promise<number> {
  // Read before Prosody is asked: an invite minted after this cannot be missing from the census.
  const open = await deps.prisma.invite.findMany({
    where: { serverId: server.id, state: 'active', revokedAt: null, expiresAt: { gt: now } },
    select: { id: true },
  });
  const { census, usage } = await censusAndUsage(deps.containers, server, await usageCountedSince(deps.prisma, server), now);
  const admin = server.credentials[0]?.jid.split('@')[0];
  // A compliance run's throwaway accounts are the platform's, not seats.
  const seats = census.accounts.filter((account) => account !== admin && !isComplianceAccount(account)).sort();
  const held = new Set(census.inviteTags);
  const used = open.filter((invite) => !held.has(invite.id)).map((invite) => invite.id);
  await deps.prisma.$transaction([
    deps.prisma.server.update({
      where: { id: server.id },
      data: {
        prosodyAccounts: seats,
        accountsCountedAt: now,
        // Federation as observed, not assumed: when a connection with another server was last seen up.
        ...(census.s2s.outgoing > 0 ? { s2sOutgoingSeenAt: now } : {}),
        ...(census.s2s.incoming > 0 ? { s2sIncomingSeenAt: now } : {}),
      },
    }),
    // Matched on state again: a revocation that committed meanwhile keeps its invite revoking.
    deps.prisma.invite.updateMany({ where: { id: { in: used }, state: 'active', revokedAt: null }, data: { state: 'redeemed', redeemedAt: now } }),
    ...usageSampleWrites(deps.prisma, { serverId: server.id, takenAt: now, accounts: seats, usage, retentionDays: deps.settings.usageRetentionDays }),
  ]);
  return used.length;
}

/**
 * The census and the usage sample in one admin-shell run: each run is a `docker exec` and a
 * prosodyctl start, a quarter of a second of the host's CPU, which a node pays for every server
 * at every census. A tab separates the two answers: no name Prosody holds can contain one.
 */
async function censusAndUsage(containers: ContainerRuntime, server: { id: string; domain: string }, since: Date, until: Date): Promise<{ census: ProsodyCensus; usage: ProsodyUsage }> {
  const answer = await prosodyShell(containers, server.id, 'account census', luaLine(`return true, ${censusLua(server.domain)} .. "\\t" .. ${usageLua(server.domain, since, until)}`));
  const [census = '', usage = '', ...rest] = answer.split('\t');
  if (rest.length > 0) throw new Error(`unexpected answer from Prosody's account census: ${answer.slice(0, 100)}`);
  return { census: parseCensusAnswer(census), usage: parseUsageAnswer(usage) };
}
