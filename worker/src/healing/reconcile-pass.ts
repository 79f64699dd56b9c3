import { diagnose } from './diagnose.js';
import { observe, zoneContents } from './observe.js';
import { observeDeps } from './heal.js';
import { removeOrphans } from './orphans.js';
import { loadWatchedPage } from './watched-server.js';
import type { StepDeps } from '../provisioning/step-deps.js';
import { requeueUnfinished } from '../provisioning/requeue-unfinished.js';

const PAGE = 500;

export interface PassReport {
  servers: number;
  findings: Record<string, number>;
  checksQueued: number;
  orphans: { containers: number; records: number; staleCopies: number };
  requeued: string;
  elapsedMs: number;
}

/**
 * The periodic full look at one node: desired state from the database a page at a time, the
 * engine listed once, the platform zone listed once, a STARTTLS check per running server. A
 * server with something wrong (or with an incident still open) gets its own check-and-repair
 * job, queued in bulk; healthy ones are stamped as checked in one statement per page.
 */
export async function reconcilePass(deps: StepDeps, nodeName: string): Promise<PassReport> {
  const started = Date.now();
  const down = await deps.containers.downNodes();
  // A node back from being down may have lost its rules (a reboot): before its servers are looked at.
  if (deps.nodeFirewalls) await deps.nodeFirewalls.refresh(down);
  // Independent reads, at once: they are a tenth of a pass when made one after another.
  const [requeued, node, owned, zoneKeys] = await Promise.all([
    requeueUnfinished(deps),
    deps.prisma.node.findUnique({ where: { name: nodeName }, select: { dockerEndpoint: true } }),
    deps.containers.listOwned(),
    zoneContents(deps.dns, [deps.settings.platformZone]),
  ]);
  const report: PassReport = { servers: 0, findings: {}, checksQueued: 0, orphans: { containers: 0, records: 0, staleCopies: 0 }, requeued, elapsedMs: 0 };
  // Every node this worker's runtime reaches: all of a Swarm's; else those on its one engine (in
  // the sandbox a second node record is another address of the same machine).
  const served = deps.settings.containerRuntime === 'swarm' ? {} : node ? { dockerEndpoint: node.dockerEndpoint } : undefined;
  const nodes = served ? await deps.prisma.node.findMany({ where: served, select: { id: true, name: true } }) : [];
  const nodeIds = nodes.map((n) => n.id);
  let after: string | null = null;
  while (nodeIds.length > 0) {
    const page = await loadWatchedPage(deps.prisma, nodeIds, after, PAGE);
    if (page.length === 0) break;
    after = page.at(-1)?.id ?? null;
    report.servers += page.length;
    const seen = await observe(observeDeps(deps), page, owned, down, zoneKeys, 'certificate');
    const needCheck: string[] = [];
    const healthy: string[] = [];
    for (const server of page) {
      const observation = seen.get(server.id);
      const findings = observation ? diagnose(server, observation) : [];
      for (const f of findings) report.findings[f.kind] = (report.findings[f.kind] ?? 0) + 1;
      if (findings.length > 0 || (server.health !== 'ok' && server.health !== 'unknown')) needCheck.push(server.id);
      else healthy.push(server.id);
    }
    await deps.jobs.enqueueHealthChecks(needCheck);
    report.checksQueued += needCheck.length;
    const now = new Date();
    await deps.prisma.server.updateMany({ where: { id: { in: healthy }, health: 'ok' }, data: { healthCheckedAt: now } });
    await deps.prisma.server.updateMany({ where: { id: { in: healthy }, health: 'unknown' }, data: { health: 'ok', healthIssue: null, healthCheckedAt: now, healthChangedAt: now } });
    if (page.length < PAGE) break;
  }
  report.orphans = await removeOrphans(deps, deps.settings.containerRuntime === 'swarm' ? new Set(nodes.map((n) => n.name)) : new Set([nodeName]), owned);
  report.elapsedMs = Date.now() - started;
  return report;
}
