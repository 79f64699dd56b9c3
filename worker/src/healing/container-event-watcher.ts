import type { Logger } from 'pino';
import { describeError } from '../contracts/dependency-check.js';
import type { ContainerRuntime, EventSubscription } from '../ports/container-runtime.js';

/**
 * Turns the engine's events into health checks: a container of Parley's that dies, is killed,
 * stopped or removed gets its server checked at once (the periodic pass is the safety net).
 * After every (re)connection a full pass is asked for, since events were missed meanwhile.
 */
export function watchContainerEvents(options: {
  containers: ContainerRuntime;
  checkServers(serverIds: string[]): Promise<void>;
  requestPass(): Promise<void>;
  logger: Logger;
}): EventSubscription {
  const { logger } = options;
  const report = (what: string) => (error: unknown) => logger.warn({ err: describeError(error) }, what);
  return options.containers.watchEvents({
    onEvent: (event) => {
      logger.debug({ serverId: event.serverId, action: event.action }, 'container event');
      options.checkServers([event.serverId]).catch(report('could not queue a health check after a container event'));
    },
    onConnected: () => {
      options.requestPass().catch(report('could not queue a reconciliation pass'));
    },
    onError: (error) => logger.debug({ err: describeError(error) }, 'docker event stream error; reconnecting'),
  });
}
