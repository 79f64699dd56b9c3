import { currentAdminCredential } from '../admin-credential.js';
import { requireNode, type StepDeps } from '../step-deps.js';
import { serverPorts } from './allocate.step.js';

/** A real client logs in over STARTTLS, verifying the chain and the name, before "ready". */
export async function probeStep(deps: StepDeps, serverId: string): Promise<string> {
  const server = await requireNode(deps.prisma, serverId);
  const ports = await serverPorts(deps.prisma, serverId);
  const credential = await currentAdminCredential(deps.prisma, deps.secrets, serverId, server.domain);
  const [username] = credential.jid.split('@');
  const result = await deps.probe.login({
    host: server.node.publicAddress,
    port: ports.c2s,
    domain: server.domain,
    username: username ?? 'admin',
    password: credential.password,
    trustedCaPems: await deps.settings.trustedRoots(),
    timeoutMs: 15_000,
  });
  return `Logged in as ${result.jid} over STARTTLS with a verified certificate`;
}
