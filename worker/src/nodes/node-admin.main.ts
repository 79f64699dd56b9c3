import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { createPrismaClient } from '../../../prisma/client.js';
import { createContainers, createDnsProvider } from '../adapters.js';
import { socketPathOf } from '../adapters/node-engines.js';
import { loadWorkerConfig } from '../config.js';
import { describeError } from '../contracts/dependency-check.js';
import { ConfigError } from '../contracts/env-fields.js';
import { DnsLedger } from '../provisioning/dns-ledger.js';
import { registeredNodes } from '../provisioning/node-registry.js';
import { addNode, listNodes, NodeAdminError, nodeAddRequestSchema, nodeNameSchema, removeNode, type NodeAdminDeps } from './node-admin.js';
import { loadNodeAdminConfig } from './node-admin.config.js';
import { requestDrain } from './node-drain.client.js';

const USAGE = `usage: ./parley node list
       ./parley node add NAME --address IP --docker unix:///PATH/docker.sock [--ports FIRST-LAST] [--max-servers N] [--memory-mib N]
       ./parley node drain NAME      (PARLEY_API_TOKEN: an operator's API token)
       ./parley node remove NAME`;

class UsageError extends Error {}

const count = (value: string | undefined, flag: string): number | null => {
  if (value === undefined) return null;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a whole number, got "${value.slice(0, 40)}"`);
  return Number(value);
};

async function main(argv: string[]): Promise<string> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { address: { type: 'string' }, docker: { type: 'string' }, ports: { type: 'string' }, 'max-servers': { type: 'string' }, 'memory-mib': { type: 'string' } },
  });
  if (!command || !['list', 'add', 'drain', 'remove'].includes(command) || positionals.length !== (command === 'list' ? 0 : 1)) throw new UsageError(USAGE);
  const name = positionals[0] ?? '';
  if (command !== 'list' && !nodeNameSchema.safeParse(name).success) throw new UsageError(`node name "${name.slice(0, 60)}": 1-40 lowercase letters, digits and hyphens`);
  const config = loadWorkerConfig();
  const admin = loadNodeAdminConfig();

  if (command === 'drain') {
    if (!admin.apiToken) throw new UsageError('a drain goes through the API: set PARLEY_API_TOKEN to an operator\'s personal API token');
    const { requestId } = await requestDrain(admin.apiUrl, admin.apiToken, name);
    return `node ${name} is draining (request ${requestId}): its servers move one at a time; watch GET /api/v1/operator/nodes`;
  }
  const prisma = createPrismaClient(config.databaseUrl);
  try {
    if (command === 'list') {
      const rows = await listNodes(prisma);
      const lines = rows.map((n) => [n.name, n.state, n.publicAddress, `${n.servers}${n.maxServers === null ? '' : `/${n.maxServers}`} servers`, n.memoryMiB === null ? 'memory -' : `${n.memoryMiB} MiB`, `ports ${n.ports}`, n.dockerEndpoint].join('  '));
      return lines.length > 0 ? lines.join('\n') : 'no node is registered';
    }
    const manager = config.docker.runtime === 'swarm' ? new Docker({ socketPath: config.docker.socketPath, timeout: config.timeouts.dockerApiMs }) : null;
    const { containers, nodeFirewalls } = createContainers(config, () => registeredNodes(prisma));
    const deps: NodeAdminDeps = {
      prisma,
      manager,
      engineAt: (endpoint) => new Docker({ socketPath: socketPathOf(endpoint), timeout: config.timeouts.dockerApiMs }),
      ledger: new DnsLedger(prisma, createDnsProvider(config), config.platformZone),
      platformZone: config.platformZone,
      joinTimeoutMs: admin.joinTimeoutMs,
      firewalls: nodeFirewalls ? { keeper: nodeFirewalls, downNodes: () => containers.downNodes() } : null,
    };
    if (command === 'remove') {
      const { withdrawnRecords, leftSwarm } = await removeNode(deps, name);
      return `node ${name} removed: ${withdrawnRecords} DNS record(s) of its own withdrawn${leftSwarm ? ', and it left the Swarm' : ''}`;
    }
    const [first, last] = (values.ports ?? `${config.node.portRangeStart}-${config.node.portRangeEnd}`).split('-');
    const parsed = nodeAddRequestSchema.safeParse({
      name,
      publicAddress: values.address,
      dockerEndpoint: values.docker,
      portRangeStart: count(first, '--ports'),
      portRangeEnd: count(last, '--ports'),
      maxServers: count(values['max-servers'], '--max-servers'),
      memoryMiB: count(values['memory-mib'], '--memory-mib'),
    });
    if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const added = await addNode(deps, parsed.data);
    return `node ${name} registered${added.swarmNodeId ? ` (Swarm node ${added.swarmNodeId}${added.joined ? ', joined now' : ''})` : ''}; new servers can be placed on it`;
  } finally {
    await prisma.$disconnect();
  }
}

main(process.argv.slice(2)).then(
  (message) => process.stdout.write(`${message}\n`),
  (error: unknown) => {
    process.stderr.write(`parley node: ${error instanceof UsageError || error instanceof NodeAdminError ? error.message : describeError(error)}\n`);
    process.exit(error instanceof ConfigError ? 78 : error instanceof UsageError ? 2 : 1);
  },
);
