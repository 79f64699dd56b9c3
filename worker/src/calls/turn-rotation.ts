import { wipeSecrets } from '../crypto/sealed-secret.js';
import { trackedStep } from '../jobs/tracked-step.js';
import { installConfiguration } from '../provisioning/config-install.js';
import { loadServer, type StepDeps } from '../provisioning/step-deps.js';
import type { EventContext, Timeline } from '../provisioning/timeline.js';
import { mintTurnSecret } from './turn-secret.js';

/**
 * Replaces the server's TURN secret (one that leaked, say) without restarting anything: version
 * `version` is sealed and put into coturn's database, Prosody reloads and signs with it, and only
 * then are the older versions removed, so credentials handed out under them are refused from
 * that moment while apps fetch new ones over XEP-0215. Every part is idempotent.
 */
export async function rotateTurnSecret(deps: StepDeps, timeline: Timeline, serverId: string, version: number, context: EventContext): Promise<string> {
  const calls = deps.calls;
  if (!calls) return 'skipped: this node offers no calls';
  const server = await loadServer(deps.prisma, serverId);
  if (server.deletedAt || server.desiredState === 'deleted') return 'skipped: the server is being deleted';
  const latest = await deps.prisma.turnSecret.findFirst({ where: { serverId }, orderBy: { version: 'desc' } });
  if (latest && latest.version > version) return `skipped: version ${latest.version} supersedes version ${version}`;
  if (!['ready', 'stopped'].includes(server.state)) throw new Error(`the server is ${server.state}; the rotation waits until it is ready or stopped`);
  return trackedStep({ timeline, serverId, step: 'turn_rotation', title: 'Replace the calls secret', context }, async () => {
    await mintTurnSecret({ prisma: deps.prisma, secrets: deps.secrets, store: calls.turnSecrets }, serverId, version);
    // Building the configuration puts the newest version into coturn's database before Prosody uses it.
    await deps.serverLock.run(serverId, () => installConfiguration(deps, serverId, server.state === 'ready'));
    const removed = await calls.turnSecrets.removeOlder(serverId, version);
    const older = await deps.prisma.turnSecret.findMany({ where: { serverId, version: { lt: version } }, select: { secretId: true } });
    await wipeSecrets(deps.prisma, older.map((row) => row.secretId));
    return `Calls secret replaced (version ${version}); ${removed} older version(s) no longer accepted`;
  });
}
