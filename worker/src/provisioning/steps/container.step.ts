import { waitForServerAnswering } from '../server-answering.js';
import { buildServerSpec, installedSpec } from '../server-spec.js';
import type { StepDeps } from '../step-deps.js';

export async function containerStep(deps: StepDeps, serverId: string): Promise<string> {
  const { spec, host, c2sPort, domain } = await buildServerSpec(deps, serverId);
  const { containerId, reused } = await deps.containers.ensureServer(spec);
  await deps.prisma.server.update({ where: { id: serverId }, data: { containerId, ...installedSpec(spec) } });
  await waitForServerAnswering(deps.containers, { serverId, host, port: c2sPort, domain }, deps.settings.serviceStartTimeoutMs);
  return `${reused ? 'Container already running' : 'Container started'} (${containerId.slice(0, 12)}); XMPP answers on ${host}:${c2sPort}`;
}
