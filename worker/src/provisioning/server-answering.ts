import { ServerContainerNotFoundError, type ContainerRuntime } from '../ports/container-runtime.js';
import { waitForXmppService, XmppServiceNotReadyError } from './xmpp-readiness.js';

export interface AnsweringTarget {
  serverId: string;
  host: string;
  port: number;
  domain: string;
}

/**
 * Waits until a server's container answers XMPP, giving up at once when the container is gone or
 * has stopped: waiting on would hold the server's lock (and the owner's stop behind it) until the
 * deadline for a container that cannot answer.
 */
export function waitForServerAnswering(containers: ContainerRuntime, target: AnsweringTarget, timeoutMs: number): Promise<{ attempts: number; elapsedMs: number }> {
  return waitForXmppService({
    host: target.host,
    port: target.port,
    domain: target.domain,
    timeoutMs,
    betweenAttempts: async () => {
      const [container] = (await containers.listOwned(target.serverId)).containers;
      if (!container || container.state === 'removing') throw new ServerContainerNotFoundError(target.serverId);
      if (container.state === 'exited' || container.state === 'dead') {
        throw new XmppServiceNotReadyError(`the container of ${target.domain} ${container.state} before XMPP answered`);
      }
    },
  });
}
