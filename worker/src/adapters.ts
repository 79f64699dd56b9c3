import { readFileSync } from 'node:fs';
import Docker from 'dockerode';
import type { WorkerConfig } from './config.js';
import type { ContainerRuntime } from './ports/container-runtime.js';
import type { DnsProvider } from './ports/dns-provider.js';
import type { DnsResolver } from './ports/dns-resolver.js';
import type { CertificateAuthority } from './ports/certificate-authority.js';
import type { XmppProbe } from './ports/xmpp-probe.js';
import type { TenantFirewall } from './ports/tenant-firewall.js';
import type { BackupRepository } from './ports/backup-repository.js';
import type { TurnSecretStore } from './ports/turn-secrets.js';
import type { TurnTls } from './ports/turn-tls.js';
import { CoturnTurnTls } from './adapters/coturn.turn-tls.js';
import { PostgresTurnSecretStore } from './adapters/postgres.turn-secret-store.js';
import { RESTIC_COMMAND_TIMEOUT_MS, ResticBackupRepository } from './adapters/restic.backup-repository.js';
import { IptablesTenantFirewall } from './adapters/iptables.tenant-firewall.js';
import { DockerContainerRuntime } from './adapters/docker.container-runtime.js';
import { SwarmContainerRuntime } from './adapters/swarm.container-runtime.js';
import { NodeEngineDirectory } from './adapters/node-engines.js';
import { DockerNodeTenantFirewall } from './adapters/docker-node.tenant-firewall.js';
import { ImageCopier } from './adapters/image-copy.js';
import { NodeFirewalls, type FirewalledNode } from './nodes/node-firewalls.js';
import { PowerDnsProvider } from './adapters/powerdns.dns-provider.js';
import { createRoute53Client, Route53DnsProvider } from './adapters/route53.dns-provider.js';
import { AcmeCertificateAuthority } from './adapters/acme.certificate-authority.js';
import { XmppClientProbe } from './adapters/xmpp-client.xmpp-probe.js';
import { NodeDnsResolver } from './adapters/node-dns.dns-resolver.js';
import type { KeyedLock } from './adapters/keyed-lock.js';

export interface WorkerAdapters {
  containers: ContainerRuntime;
  dns: DnsProvider;
  resolver: DnsResolver;
  ca: CertificateAuthority;
  probe: XmppProbe;
  firewall: TenantFirewall;
  backups: BackupRepository;
  /** coturn's secrets, when the node offers calls. */
  turnSecrets: TurnSecretStore | undefined;
  /** coturn's TLS certificate files, when the node offers TURN over TLS. */
  turnTls: TurnTls | undefined;
  /** Each Swarm node's tenant firewall (firewall above is the worker's own host's). */
  nodeFirewalls: NodeFirewalls | undefined;
}

/** The composition root of side effects: configuration picks the adapter behind each port. */
/** The platform zone's DNS provider the configuration names. */
export function createDnsProvider(config: WorkerConfig, zoneLock?: KeyedLock): DnsProvider {
  const lock = zoneLock ? { lock: zoneLock } : {};
  return config.dns.kind === 'powerdns'
    ? new PowerDnsProvider({ ...config.dns, zone: config.platformZone, requestTimeoutMs: config.timeouts.dnsApiMs, ...lock })
    : new Route53DnsProvider({
        client: createRoute53Client({ region: config.dns.region, endpoint: config.dns.endpoint, requestTimeoutMs: config.timeouts.dnsApiMs }),
        hostedZoneId: config.dns.hostedZoneId,
        zone: config.platformZone,
        ...lock,
      });
}

/**
 * The container runtime the configuration names and, with a Swarm, its nodes' firewalls; a Swarm's
 * nodes are the node rows `nodes` reads.
 */
export function createContainers(config: WorkerConfig, nodes?: () => Promise<FirewalledNode[]>): Pick<WorkerAdapters, 'containers' | 'nodeFirewalls'> {
  const engine = new Docker({ socketPath: config.docker.socketPath, timeout: config.timeouts.dockerApiMs });
  if (config.docker.runtime === 'swarm') {
    const { agentImage } = config.docker;
    if (!nodes || !agentImage) throw new Error('the Swarm runtime needs the node rows and the node agent image');
    const directory = new NodeEngineDirectory(nodes, config.timeouts.dockerApiMs);
    const images = new ImageCopier(engine);
    return {
      containers: new SwarmContainerRuntime(engine, directory, { images }),
      nodeFirewalls: new NodeFirewalls({
        nodes,
        firewallOf: (node) => new DockerNodeTenantFirewall(directory.engineAt(node.dockerEndpoint), agentImage, node.name, images),
        containerDns: config.node.containerDns,
      }),
    };
  }
  return {
    containers: new DockerContainerRuntime(engine, {
      nodeName: config.node.name,
      // The event stream stays idle for hours by design: its own client, without a request timeout.
      eventsClient: new Docker({ socketPath: config.docker.socketPath }),
    }),
    nodeFirewalls: undefined,
  };
}

export function createAdapters(config: WorkerConfig, zoneLock?: KeyedLock, nodes?: () => Promise<FirewalledNode[]>): WorkerAdapters {
  const dns = createDnsProvider(config, zoneLock);
  return {
    ...createContainers(config, nodes),
    dns,
    resolver: new NodeDnsResolver(config.dnsResolver),
    ca: new AcmeCertificateAuthority({
      directoryUrl: config.acme.directoryUrl,
      caBundle: config.acme.caBundleFile ? readFileSync(config.acme.caBundleFile) : undefined,
      httpTimeoutMs: config.timeouts.acmeHttpMs,
    }),
    probe: new XmppClientProbe(),
    firewall: new IptablesTenantFirewall(),
    backups: new ResticBackupRepository({
      repository: config.backups.repository,
      password: config.backups.password,
      commandTimeoutMs: RESTIC_COMMAND_TIMEOUT_MS,
      childPath: config.backups.childPath,
    }),
    turnSecrets:
      config.calls &&
      new PostgresTurnSecretStore({ databaseUrl: config.calls.turnSecretsDatabaseUrl, realm: config.platformZone, timeoutMs: config.calls.turnSecretsTimeoutMs }),
    turnTls: config.calls?.tls ? new CoturnTurnTls(config.calls.tls.dir, config.calls.tls.pidFile) : undefined,
  };
}
