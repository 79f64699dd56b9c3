import type Docker from 'dockerode';
import { resolversOf, tenantFirewallScript } from '../isolation/tenant-firewall-rules.js';
import type { TenantFirewall, TenantFirewallPlan } from '../ports/tenant-firewall.js';
import { demultiplexed, waitForExit } from './docker.container-runtime.js';
import type { ImageCopier } from './image-copy.js';
import { TenantFirewallError } from './iptables.tenant-firewall.js';

const RUN_TIMEOUT_MS = 30_000;
/** A run of the agent carries this role, so one left by a crash is recognisable. */
const AGENT_LABELS = { 'parley.managed': 'true', 'parley.role': 'node-agent' };

/**
 * The tenant firewall of a machine Parley reaches only through its Docker engine (a Swarm node):
 * the same script as on the worker's own host, run by a one-shot container of the node agent
 * image in the node's network namespace with NET_ADMIN. The node's resolvers are read from the
 * node first (a host-network container sees the node's resolv.conf).
 */
export class DockerNodeTenantFirewall implements TenantFirewall {
  constructor(
    private readonly engine: Docker,
    private readonly agentImage: string,
    private readonly node: string,
    private readonly images: ImageCopier,
  ) {}

  async apply(plan: TenantFirewallPlan): Promise<void> {
    await this.images.ensure(this.engine, this.node, this.agentImage);
    const { output: resolvConf } = await this.run(['cat', '/etc/resolv.conf']);
    const script = tenantFirewallScript(plan, resolversOf(resolvConf));
    const { exitCode, output } = await this.run(['sh', '-c', script]);
    if (exitCode !== 0) throw new TenantFirewallError(`cannot install the tenant firewall on node ${this.node}: ${output.trim().slice(-500) || `exit ${exitCode}`}`);
  }

  private async run(argv: string[]): Promise<{ exitCode: number; output: string }> {
    let container: Docker.Container;
    try {
      container = await this.engine.createContainer({
        Image: this.agentImage,
        Cmd: argv,
        Labels: AGENT_LABELS,
        HostConfig: { NetworkMode: 'host', CapDrop: ['ALL'], CapAdd: ['NET_ADMIN', 'NET_RAW'], ReadonlyRootfs: true, Tmpfs: { '/run': 'rw,size=1m' } },
      });
    } catch (error) {
      throw new TenantFirewallError(`cannot run the node agent (${this.agentImage}) on node ${this.node}: ${error instanceof Error ? error.message : String(error)}; is the image loaded there?`, { cause: error });
    }
    try {
      await container.start();
      const exitCode = await waitForExit(container, RUN_TIMEOUT_MS, `the node agent on node ${this.node}`).catch((error: unknown) => {
        throw new TenantFirewallError(error instanceof Error ? error.message : String(error), { cause: error });
      });
      const log = await container.logs({ stdout: true, stderr: true, follow: false });
      return { exitCode, output: demultiplexed(log) };
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
    }
  }
}
