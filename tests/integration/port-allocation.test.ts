import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { testEnv } from '../support/test-env.js';
import { expectEvery } from '../support/expect-every.js';
import { unlessGone } from '../support/unless-gone.js';

const RANGE_START = 38_000;

/**
 * Something that is not Parley's (a leftover container, another tenant of the engine) already
 * publishes the first ports of the node's range: allocation must step around them, or the
 * container step would fail on every retry with "port is already allocated".
 */
describe('port allocation on an engine where other containers publish ports', () => {
  const docker = new Docker({ socketPath: testEnv().DOCKER_SOCKET });
  let harness: ProvisioningHarness;
  let squatter: Docker.Container | undefined;
  let serverId = '';

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(RANGE_START);
    squatter = await docker.createContainer({
      Image: testEnv().PROSODY_IMAGE,
      Cmd: ['sleep', '600'],
      Labels: { 'parley.test': 'port-squatter' },
      ExposedPorts: { '7001/tcp': {}, '7002/tcp': {} },
      HostConfig: {
        AutoRemove: true,
        PortBindings: {
          '7001/tcp': [{ HostIp: '127.0.0.1', HostPort: String(RANGE_START) }],
          '7002/tcp': [{ HostIp: '127.0.0.1', HostPort: String(RANGE_START + 2) }],
        },
      },
    });
    await squatter.start();
  });

  afterAll(async () => {
    if (serverId) {
      await harness.deprovision(serverId);
      await harness.waitForState(serverId, 'deleted', 60_000);
    }
    await squatter?.remove({ force: true }).catch(unlessGone);
    await harness.close();
  });

  it('reserves only ports nobody publishes, and the server comes up on them', async () => {
    ({ serverId } = await harness.placeOrder());
    await harness.provision(serverId);
    await harness.waitForState(serverId, 'ready', 90_000);

    const ports = (await harness.prisma.portAllocation.findMany({ where: { serverId } })).map((a) => a.port).sort((a, b) => a - b);
    expect(ports).toHaveLength(4);
    expect(ports).not.toContain(RANGE_START);
    expect(ports).not.toContain(RANGE_START + 2);
    expectEvery(ports, (port) => port > RANGE_START && port < RANGE_START + 400);

    const [container] = await docker.listContainers({ filters: { label: [`parley.server=${serverId}`] } });
    expect(container?.State).toBe('running');
    expect(container?.Ports.map((p) => p.PublicPort)).toEqual(expect.arrayContaining(ports));
  });
});
