import { STEP_TITLE, type ServerAction } from '../contracts/provisioning.js';
import { requireNode, type StepDeps } from './step-deps.js';
import { trackedStep } from '../jobs/tracked-step.js';
import type { EventContext, Timeline } from './timeline.js';
import { serverPorts } from './steps/allocate.step.js';
import { waitForServerAnswering } from './server-answering.js';
import { IncidentBook } from '../healing/incident-book.js';
import { recreateFromVolumes } from '../healing/repair.js';

type PowerState = 'running' | 'stopped';

/** The desired state each request writes on the row (the API sets it with the request). */
const TARGET: Record<ServerAction, PowerState> = { stop: 'stopped', start: 'running', restart: 'running' };

/** Bounded: a customer flipping stop/start faster than the container follows gets a retry. */
const ROUNDS = 3;

/**
 * Stops, starts or restarts a ready server's container. The state follows what the container
 * does; a start or restart counts only once XMPP answers again.
 *
 * Each request is its own job and they may run in any order or at once, so the row's desired
 * state (written by the last request) decides: a job whose request is no longer the latest is
 * skipped as superseded, and a job that finds the desired state changed while it ran converges
 * on the new one, so the last request wins whichever job finishes last.
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
  if (server.desiredState !== TARGET[action]) {
    const message = `Skipped: a later request wants the server ${server.desiredState}`;
    await timeline.record(serverId, action, 'info', message, { ...context, detail: { superseded: true, desiredState: server.desiredState } });
    return message;
  }
  if (!['ready', 'stopped'].includes(server.state)) {
    throw new Error(`the server is ${server.state}; ${action} waits until provisioning has finished`);
  }
  const apply = (step: ServerAction): Promise<string> => deps.serverLock.run(serverId, () => applyUnlocked(step));
  const applyUnlocked = async (step: ServerAction): Promise<string> => {
    if (step === 'stop') {
      await deps.containers.stopServer(serverId);
      await timeline.setState(serverId, 'stopped');
      return 'Server stopped';
    }
    await new IncidentBook(deps.prisma, timeline).retryAfterOwnerAction(serverId);
    // A container removed behind Parley's back comes back from the server's volumes.
    if ((await deps.containers.listOwned(serverId)).containers.length === 0) await recreateFromVolumes(deps, serverId);
    else await (step === 'start' ? deps.containers.startServer(serverId) : deps.containers.restartServer(serverId));
    const ports = await serverPorts(deps.prisma, serverId);
    await waitForServerAnswering(deps.containers, { serverId, host: server.node.publicAddress, port: ports.c2s, domain: server.domain }, deps.settings.serviceStartTimeoutMs);
    await timeline.setState(serverId, 'ready');
    return 'Server running; XMPP answers again';
  };
  return trackedStep({ timeline, serverId, step: action, title: STEP_TITLE[action], context }, async () => {
    let message = await apply(action);
    let applied = TARGET[action];
    for (let round = 0; round < ROUNDS; round++) {
      const latest = await deps.prisma.server.findUniqueOrThrow({ where: { id: serverId }, select: { desiredState: true, deletedAt: true } });
      if (latest.deletedAt || latest.desiredState === 'deleted') return `${message}; the server is being deleted now`;
      if (latest.desiredState === applied) return message;
      applied = latest.desiredState;
      message = `${await apply(applied === 'stopped' ? 'stop' : 'start')} (a later request asked for it while this one ran)`;
    }
    throw new Error('the desired state kept changing while the server was being stopped and started');
  });
}
