import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../contracts/dependency-check.js';
import type { StepDeps } from '../provisioning/step-deps.js';
import type { Timeline } from '../provisioning/timeline.js';
import { diagnose, type Finding } from './diagnose.js';
import { IncidentBook } from './incident-book.js';
import { observe, recordsAt } from './observe.js';
import { CONTAINER_REPAIR_ORDER, repair, SupersededRepairError } from './repair.js';
import { loadWatched } from './watched-server.js';
import { afterNodeLoss } from './node-loss.js';

/** Another job is changing the server (a step, a stop, a renewal): look again once it is done. */
export class ServerBusyError extends Error {
  constructor(serverId: string, job: string) {
    super(`server ${serverId} is busy with ${job}; its health is checked again afterwards`);
    this.name = 'ServerBusyError';
  }
}

/** Rounds of look → repair in one check: a repair that failed on a transient state is tried again soon. */
const MAX_ROUNDS = 4;
/** A backoff shorter than this is waited out inside the check; a longer one is left to the next pass. */
const WAIT_IN_CHECK_MS = 5_000;

/**
 * One server's check and repair: observe, record what is wrong (the API shows it at once),
 * repair what is due (one container repair, since one recreate fixes several findings, plus
 * DNS), observe again and close what is fixed. Level-triggered: running it twice, or on a
 * healthy server, changes nothing.
 */
export async function heal(
  deps: StepDeps,
  timeline: Timeline,
  serverId: string,
  job: { jobId: string | undefined; errorTypeOf: (error: unknown) => string },
): Promise<string> {
  const book = new IncidentBook(deps.prisma, timeline);
  const done: string[] = [];
  for (let round = 1; ; round++) {
    const server = await loadWatched(deps.prisma, serverId);
    if (!server) {
      // Deleted, or not provisioned (again): nothing of it is watched, so nothing stays open.
      for (const incident of await book.unresolved(serverId)) await book.resolve(incident, new Date());
      return 'not watched: the server is being provisioned or deleted';
    }
    // Another job on the server (a step, an action, another check of it) would race this one.
    const busy = await deps.jobs.busyWith(serverId, job.jobId);
    if (busy) throw new ServerBusyError(serverId, busy);

    const [owned, down] = await Promise.all([deps.containers.listOwned(server.id), deps.containers.downNodes()]);
    const seen = (await observe(observeDeps(deps), [server], owned, down, await recordsAt(deps.dns, server), 'all')).get(server.id);
    const findings = seen ? diagnose(server, seen) : [];
    const now = new Date();
    const incidents = await reconcileIncidents(book, serverId, findings, now);
    await book.refreshHealth(serverId, now);
    const summary = [...done, findings.length === 0 ? 'healthy' : `found ${findings.map((f) => f.kind).join(', ')}`].join('; ');
    if (findings.length === 0 || round > MAX_ROUNDS) return summary;
    // Nothing on a node that is down can be repaired: wait for it, or restore the server elsewhere.
    const lost = incidents.get('node_down');
    if (lost) return `${summary}; ${await afterNodeLoss(deps, server, lost, now, down)}`;

    const due = findings.filter((f) => {
      const incident = incidents.get(f.kind);
      return incident !== undefined && book.dueForRepair(incident, now);
    });
    const containerFix = CONTAINER_REPAIR_ORDER.map((kind) => due.find((f) => f.kind === kind)).find((f) => f !== undefined);
    const toRepair = [containerFix, due.find((f) => f.kind === 'dns_record_missing')].filter((f): f is Finding => f !== undefined);
    if (toRepair.length === 0) {
      const next = Math.min(...[...incidents.values()].filter((i) => i.status === 'open').map((i) => i.nextRepairAt?.getTime() ?? Infinity));
      if (!Number.isFinite(next)) return `${summary}; repairs stopped: needs attention`;
      if (next - now.getTime() > WAIT_IN_CHECK_MS) {
        await deps.jobs.enqueueHealthCheckAt(serverId, new Date(next));
        return `${summary}; next repair at ${new Date(next).toISOString()}`;
      }
      await sleep(Math.max(0, next - now.getTime()));
      continue;
    }
    for (const finding of toRepair) {
      const incident = incidents.get(finding.kind);
      if (!incident) continue;
      try {
        const action = await deps.serverLock.run(serverId, () => repair(deps, server, finding));
        await book.repaired(incident, action, new Date());
        done.push(action);
      } catch (error) {
        // Not a failed repair: the owner changed their mind, or the container went away under it
        // (a "die" just before a removal); the next round observes what is there now.
        if (error instanceof SupersededRepairError || job.errorTypeOf(error) === 'container_not_found') {
          done.push(describeError(error));
          continue;
        }
        await book.repairFailed(incident, describeError(error), job.errorTypeOf(error), new Date());
        done.push(`${finding.kind}: repair failed`);
      }
    }
  }
}

/** Opens an incident per finding and resolves those no longer found. */
async function reconcileIncidents(book: IncidentBook, serverId: string, findings: Finding[], now: Date) {
  const byKind = new Map<string, Awaited<ReturnType<IncidentBook['open']>>>();
  for (const finding of findings) byKind.set(finding.kind, await book.open(serverId, finding, now));
  for (const incident of await book.unresolved(serverId)) {
    if (!byKind.has(incident.kind)) await book.resolve(incident, now);
  }
  return byKind;
}

export function observeDeps(deps: StepDeps) {
  return {
    containers: deps.containers,
    dns: deps.dns,
    xmppTimeoutMs: deps.settings.healthCheckTimeoutMs,
    xmppConcurrency: deps.settings.healthCheckConcurrency,
  };
}
