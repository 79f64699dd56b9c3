import { Prisma } from '../../../prisma/generated/client/client.js';
import { healthMessage, type HealthStatus } from '../../../worker/src/contracts/health.js';
import { storedFailureText, type Reader } from '../http/failure-text.js';

/**
 * One server as every server route shows it, from whichever query read it: the list's single
 * statement below, or a Prisma row with its relations (toServerDto in servers.service.ts).
 */
export interface ServerFields {
  id: string;
  name: string;
  domain: string;
  federation: boolean;
  /** The plan's code. */
  plan: string;
  state: string;
  stateReason: string | null;
  stateReasonType: string | null;
  desiredState: string;
  createdAt: Date;
  readyAt: Date | null;
  /** What the reconciler last observed (worker/src/contracts/health.ts). */
  health: HealthStatus;
  healthIssue: string | null;
  healthChangedAt: Date | null;
  healthCheckedAt: Date | null;
  /** Host ports by purpose; null when the server holds none for it (yet). */
  c2s: number | null;
  c2sDirectTls: number | null;
  s2s: number | null;
  https: number | null;
}

export function toServerItem(server: ServerFields, reader: Reader) {
  return {
    id: server.id,
    name: server.name,
    domain: server.domain,
    federation: server.federation,
    plan: server.plan,
    state: server.state,
    stateReason: storedFailureText(reader, server.stateReason, server.stateReasonType),
    desiredState: server.desiredState,
    createdAt: server.createdAt.toISOString(),
    readyAt: server.readyAt?.toISOString() ?? null,
    health: {
      status: server.health,
      issue: server.healthIssue,
      message: healthMessage(server.health, server.healthIssue),
      since: server.healthChangedAt?.toISOString() ?? null,
      checkedAt: server.healthCheckedAt?.toISOString() ?? null,
    },
    connection:
      server.c2s === null
        ? null
        : {
            jidDomain: server.domain,
            host: server.domain,
            ports: { starttls: server.c2s, directTls: server.c2sDirectTls, federation: server.federation ? server.s2s : null, upload: server.https },
          },
  };
}

/**
 * The list page in one statement, with only the columns the items show. Prisma's
 * findMany({ include: { node, plan, portAllocations } }) sent four (servers, then nodes, plans and
 * ports by IN list) and built every column of all four into objects: per request that cost more
 * CPU than the rest of the request together. A server holds at most one port per purpose (unique
 * server_id, purpose), so max() per purpose picks that port, and the plan is required (inner join).
 *
 * `accountId` undefined lists every account's servers (operators): pass ownedBy(principal).
 */
export function serverListQuery(scope: { accountId?: string }, page: { cursor?: string | undefined; limit: number }): Prisma.Sql {
  return Prisma.sql`
    SELECT s.id, s.name, s.domain, s.federation, p.code AS plan, s.state::text AS state, s.state_reason AS "stateReason", s.state_reason_type AS "stateReasonType",
      s.desired_state::text AS "desiredState", s.created_at AS "createdAt", s.ready_at AS "readyAt",
      s.health::text AS health, s.health_issue AS "healthIssue", s.health_changed_at AS "healthChangedAt", s.health_checked_at AS "healthCheckedAt",
      pa.c2s, pa.c2s_direct_tls AS "c2sDirectTls", pa.s2s, pa.https
    FROM servers s
    JOIN plans p ON p.id = s.plan_id
    LEFT JOIN LATERAL (
      SELECT max(a.port) FILTER (WHERE a.purpose = 'c2s') AS c2s,
        max(a.port) FILTER (WHERE a.purpose = 'c2s_direct_tls') AS c2s_direct_tls,
        max(a.port) FILTER (WHERE a.purpose = 's2s') AS s2s,
        max(a.port) FILTER (WHERE a.purpose = 'https') AS https
      FROM port_allocations a WHERE a.server_id = s.id
    ) pa ON true
    WHERE s.deleted_at IS NULL
      ${scope.accountId === undefined ? Prisma.empty : Prisma.sql`AND s.account_id = ${scope.accountId}::uuid`}
      ${page.cursor === undefined ? Prisma.empty : Prisma.sql`AND s.id < ${page.cursor}::uuid`}
    ORDER BY s.id DESC
    LIMIT ${page.limit + 1}`;
}
