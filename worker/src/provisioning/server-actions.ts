import { STEP_TITLE, type ServerAction } from '../contracts/provisioning.js';
import { requireNode, type StepDeps } from './step-deps.js';
import { trackedStep } from '../jobs/tracked-step.js';
import type { EventContext, Timeline } from './timeline.js';
import { serverPorts } from './steps/allocate.step.js';
import { waitForXmppService } from './xmpp-readiness.js';

/**
 * Stops, starts or restarts a ready server's container. The state follows what the container
 * does; a start or restart counts only once XMPP answers again.
 */
export async function runServerAction(
  deps: StepDeps,
  timeline: Timeline,
  serverId: string,
  action: ServerAction,
  context: EventContext,
): Promise<string> {
  const server = await requireNode(deps.prisma, serverId);
  if (server.deletedAt || server.desiredState === 'deleted') return 'skipped: the server is being deleted';
  if (!['ready', 'stopped'].includes(server.state)) {
    throw new Error(`the server is ${server.state}; ${action} waits until provisioning has finished`);
  }
  return trackedStep({ timeline, serverId, step: action, title: STEP_TITLE[action], context }, async () => {
    if (action === 'stop') {
      await deps.containers.stopServer(serverId);
      await timeline.setState(serverId, 'stopped');
      return 'Server stopped';
    }
    await (action === 'start' ? deps.containers.startServer(serverId) : deps.containers.restartServer(serverId));
    const ports = await serverPorts(deps.prisma, serverId);
    await waitForXmppService({
      host: server.node.publicAddress,
      port: ports.c2s,
      domain: server.domain,
      timeoutMs: deps.settings.serviceStartTimeoutMs,
    });
    await timeline.setState(serverId, 'ready');
    return 'Server running; XMPP answers again';
  });
}
