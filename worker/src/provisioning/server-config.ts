import { trackedStep } from '../jobs/tracked-step.js';
import { installConfiguration } from './config-install.js';
import { loadServer, type StepDeps } from './step-deps.js';
import type { EventContext, Timeline } from './timeline.js';

/**
 * Applies the server's settings as the database has them (contact addresses) to its Prosody:
 * files rewritten, configuration reloaded. A later change supersedes this one; a server still
 * being provisioned gets them from its own configure step.
 */
export async function applyServerConfig(deps: StepDeps, timeline: Timeline, serverId: string, revision: number, context: EventContext): Promise<string> {
  const server = await loadServer(deps.prisma, serverId);
  if (server.deletedAt || server.desiredState === 'deleted') return 'skipped: the server is being deleted';
  if (server.contactsRevision > revision) return `skipped: change ${server.contactsRevision} supersedes change ${revision}`;
  if (!['ready', 'stopped'].includes(server.state)) {
    // Provisioning, restoring or moving renders the configuration from the same row: nothing to apply.
    return `skipped: the server is ${server.state}; its configuration is rendered with the change`;
  }
  return trackedStep({ timeline, serverId, step: 'reconfigure', title: 'Apply the new settings', context }, async () => {
    const done = await deps.serverLock.run(serverId, () => installConfiguration(deps, serverId, server.state === 'ready'));
    return {
      reloaded: 'Settings applied; the server reloaded its configuration',
      restarted: 'Settings applied; the server restarted (its listeners changed since it was configured)',
      written: 'Settings saved; the server uses them when it starts',
    }[done];
  });
}
