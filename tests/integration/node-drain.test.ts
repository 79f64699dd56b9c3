import { mkdtemp, rm } from 'node:fs/promises';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerContainerRuntime } from '../../worker/src/adapters/docker.container-runtime.js';
import { prosodyCreateOrUpdateUser } from '../../worker/src/provisioning/prosody-accounts.js';
import Docker from 'dockerode';
import { pebbleIssuers } from '../support/pebble.js';
import { signUpOperator, startPlatformApi, type ApiRequest, type ListeningApi } from '../support/platform-api.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { tearDownAll } from '../support/tear-down.js';
import { testEnv } from '../support/test-env.js';
import { until } from '../support/until.js';
import { connectAs, sendMessage, wholeArchive } from '../support/xmpp.js';

const BASE_PORT = 24_400;
/** The node the servers drain to: another loopback address, the same port range. */
const NODE_B_ADDRESS = '127.0.0.2';
const PASSWORD = 'alice: drained, not lost';

interface NodeDto {
  id: string;
  name: string;
  state: string;
  servers: number;
}

// A node with two servers drained through the API: both move to the other node one at a time,
// each with its downtime on its timeline, and their users find their history there.
describe('draining a node', { shuffle: false }, () => {
  let harness: ProvisioningHarness;
  let api: ListeningApi;
  let operator: ApiRequest;
  let repositoryDir: string;
  let root: string;
  const servers: { serverId: string; domain: string }[] = [];
  const runtime = new DockerContainerRuntime(new Docker({ socketPath: testEnv().DOCKER_SOCKET }));
  const resolver = new Resolver({ timeout: 2_000, tries: 2 });

  const login = async (server: { serverId: string; domain: string }, host: string) => {
    const { port } = await harness.prisma.portAllocation.findFirstOrThrow({ where: { serverId: server.serverId, purpose: 'c2s' } });
    return connectAs({ host, port, domain: server.domain, username: 'alice', password: PASSWORD, trustedCaPems: [root], timeoutMs: 10_000 });
  };
  const nodes = async () => {
    const response = await operator('GET', '/operator/nodes');
    expect(response.status).toBe(200);
    return ((await response.json()) as { items: NodeDto[] }).items;
  };

  beforeAll(async () => {
    repositoryDir = join(await mkdtemp(join(tmpdir(), 'parley-node-drain-')), 'repository');
    harness = await ProvisioningHarness.create(BASE_PORT, { configure: (config) => ({ ...config, backups: { ...config.backups, repository: repositoryDir } }) });
    resolver.setServers([harness.config.dnsResolver]);
    root = (await pebbleIssuers()).root.toString();
    for (let i = 0; i < 2; i++) servers.push(await harness.placeOrder());
    await Promise.all(servers.map((server) => harness.provision(server.serverId)));
    await Promise.all(servers.map((server) => harness.waitForState(server.serverId, 'ready')));
    for (const server of servers) {
      await prosodyCreateOrUpdateUser(runtime, server.serverId, { username: 'alice', domain: server.domain, password: PASSWORD });
      const alice = await login(server, harness.config.docker.publicAddress);
      try {
        await sendMessage(alice, `bob@${server.domain}`, `before the drain of ${server.domain}`);
      } finally {
        await alice.close();
      }
    }
    api = await startPlatformApi(harness);
    operator = await signUpOperator(api.url, harness.prisma);
  }, 240_000);

  afterAll(async () => {
    await tearDownAll([
      async () => {
        for (const server of servers) await harness.deprovision(server.serverId);
        await Promise.all(servers.map((server) => harness.waitForState(server.serverId, 'deleted', 90_000)));
      },
      () => api.close(),
      () => harness.close(),
      () => rm(join(repositoryDir, '..'), { recursive: true, force: true }),
    ]);
  }, 180_000);

  it('moves every server to the other node one at a time, each with its downtime, and the node ends empty and draining', async () => {
    const drained = await harness.prisma.node.findUniqueOrThrow({ where: { name: harness.config.node.name } });
    const target = await harness.prisma.node.create({
      data: { name: `test-${BASE_PORT}-b`, hostname: `test-${BASE_PORT}-b.${harness.config.platformZone}`, publicAddress: NODE_B_ADDRESS, dockerEndpoint: `unix://${harness.config.docker.socketPath}`, portRangeStart: BASE_PORT, portRangeEnd: BASE_PORT + 399 },
    });
    const response = await operator('POST', `/operator/nodes/${drained.id}/drain`);
    expect(response.status, await response.text()).toBe(202);

    // Empty once the last server's ports moved; done once its move succeeded too.
    const after = await until(
      'the drained node empty and both moves done',
      async () => {
        const listed = await nodes();
        const done = await harness.prisma.provisioningEvent.count({ where: { serverId: { in: servers.map((s) => s.serverId) }, step: 'move', status: 'succeeded' } });
        return listed.find((n) => n.id === drained.id)?.servers === 0 && done === servers.length ? listed : null;
      },
      240_000,
      500,
    );
    expect(after.find((n) => n.id === drained.id)).toMatchObject({ state: 'draining', servers: 0 });
    expect(after.find((n) => n.id === target.id)).toMatchObject({ state: 'active', servers: 2 });

    const moves = await harness.prisma.provisioningEvent.findMany({ where: { serverId: { in: servers.map((s) => s.serverId) }, step: 'move' }, orderBy: { id: 'asc' } });
    const succeeded = moves.filter((e) => e.status === 'succeeded');
    expect(succeeded).toHaveLength(2);
    for (const event of succeeded) expect((event.detail as { downtimeMs: number }).downtimeMs).toBeGreaterThan(0);
    // One at a time: the second move started after the first one finished.
    const [first, second] = succeeded;
    const secondStarted = moves.find((e) => e.status === 'started' && e.serverId === second?.serverId);
    expect(secondStarted?.createdAt.getTime()).toBeGreaterThanOrEqual(first?.createdAt.getTime() ?? Infinity);

    for (const server of servers) {
      expect(await harness.prisma.server.findUniqueOrThrow({ where: { id: server.serverId } })).toMatchObject({ state: 'ready', nodeId: target.id });
      expect(await resolver.resolve4(server.domain)).toEqual([NODE_B_ADDRESS]);
      const alice = await login(server, NODE_B_ADDRESS);
      try {
        expect(await wholeArchive(alice)).toContain(`before the drain of ${server.domain}`);
      } finally {
        await alice.close();
      }
    }
  }, 300_000);

  it('an activated node takes servers again', async () => {
    const drained = await harness.prisma.node.findUniqueOrThrow({ where: { name: harness.config.node.name } });
    const response = await operator('POST', `/operator/nodes/${drained.id}/activate`);
    expect(response.status).toBe(200);
    expect((await nodes()).find((n) => n.id === drained.id)).toMatchObject({ state: 'active', servers: 0 });
  });
});
