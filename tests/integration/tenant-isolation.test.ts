import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerName } from '../../worker/src/adapters/docker.container-runtime.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { until } from '../support/until.js';
import { tcpOpens } from '../support/tcp-open.js';

// What a customer's container can reach, tried from inside one with bash's /dev/tcp. The
// "outside world" is a network namespace this test creates: a private address, the cloud
// metadata address and a stand-in for a public address (where federation goes) all live in it,
// routed from the host through a veth pair, so nothing leaves the machine.

const NS = 'parley-egress-test';
const VETH_HOST = 'pegress0';
const VETH_NS = 'pegress1';
const HOST_SIDE = '10.213.7.1';
const PRIVATE = '10.213.7.2';
const METADATA = '169.254.169.254';
/** Not in any special-purpose range: for the firewall, an address on the internet. */
const PUBLIC = '192.88.99.7';
const LISTENER_PORT = 7777;
const GREETING = 'parley-listener';

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
const quietly = (fn: () => unknown) => {
  try {
    fn();
  } catch {
    // Absent already: nothing to undo.
  }
};

function removeOutsideWorld(): void {
  quietly(() => ip('route', 'del', `${METADATA}/32`, 'via', PRIVATE));
  quietly(() => ip('route', 'del', `${PUBLIC}/32`, 'via', PRIVATE));
  quietly(() => ip('link', 'del', VETH_HOST));
  quietly(() => ip('netns', 'del', NS));
}

function createOutsideWorld(): void {
  removeOutsideWorld();
  ip('netns', 'add', NS);
  ip('link', 'add', VETH_HOST, 'type', 'veth', 'peer', 'name', VETH_NS);
  ip('link', 'set', VETH_NS, 'netns', NS);
  ip('addr', 'add', `${HOST_SIDE}/30`, 'dev', VETH_HOST);
  ip('link', 'set', VETH_HOST, 'up');
  for (const address of [`${PRIVATE}/30`, `${METADATA}/32`, `${PUBLIC}/32`]) ip('-n', NS, 'addr', 'add', address, 'dev', VETH_NS);
  ip('-n', NS, 'link', 'set', VETH_NS, 'up');
  ip('-n', NS, 'link', 'set', 'lo', 'up');
  ip('-n', NS, 'route', 'add', 'default', 'via', HOST_SIDE);
  ip('route', 'add', `${METADATA}/32`, 'via', PRIVATE);
  ip('route', 'add', `${PUBLIC}/32`, 'via', PRIVATE);
}

describe('tenant isolation: what a customer\'s container can reach', () => {
  const docker = new Docker();
  let harness: ProvisioningHarness;
  const servers: string[] = [];
  let listener: ChildProcess | undefined;
  let hostService: Server | undefined;
  let gateway = '';

  /** From inside the server's container: does a TCP connection to host:port open? */
  async function opensFrom(serverId: string, host: string, port: number): Promise<boolean> {
    const exec = await docker.getContainer(containerName(serverId)).exec({
      Cmd: ['bash', '-c', `timeout 3 bash -c 'exec 3<>/dev/tcp/${host}/${port} && echo CONNECTED' 2>/dev/null; true`],
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise((resolve) => stream.on('end', resolve));
    return Buffer.concat(chunks).toString('latin1').includes('CONNECTED');
  }

  const address = async (serverId: string) => {
    const info = await docker.getContainer(containerName(serverId)).inspect();
    const found = Object.values(info.NetworkSettings.Networks)[0]?.IPAddress;
    if (!found) throw new Error(`server ${serverId} has no container address`);
    return found;
  };

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(39_000);
    for (let i = 0; i < 2; i++) {
      const { serverId } = await harness.placeOrder({ federation: true });
      servers.push(serverId);
      await harness.provision(serverId);
    }
    for (const serverId of servers) await harness.waitForState(serverId, 'ready');

    createOutsideWorld();
    listener = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', `require('net').createServer((s) => { s.on('error', () => {}); s.end('${GREETING}\\n'); }).listen(${LISTENER_PORT}, '0.0.0.0')`], { stdio: 'ignore' });
    await until('the listener in the namespace answers', async () => ((await tcpOpens(PRIVATE, LISTENER_PORT)) ? true : null), 10_000);

    // A service of the host's, listening on the host's own address on the tenant network.
    const network = await docker.getNetwork(harness.config.node.tenantNetwork).inspect();
    gateway = network.IPAM?.Config?.[0]?.Gateway ?? '';
    expect(gateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const service = createServer((s) => {
      // The probes close at once: a reset while greeting is expected.
      s.on('error', () => undefined);
      s.end(`${GREETING}\n`);
    });
    hostService = service;
    await new Promise<void>((resolve) => service.listen(0, gateway, resolve));
  });

  afterAll(async () => {
    listener?.kill();
    await new Promise((resolve) => (hostService ? hostService.close(resolve) : resolve(undefined)));
    removeOutsideWorld();
    for (const serverId of servers) await harness.deprovision(serverId);
    for (const serverId of servers) await harness.waitForState(serverId, 'deleted', 60_000);
    await harness.close();
  });

  it('every target answers from the host itself, so a refusal below is the firewall\'s', async () => {
    const [, other = ''] = servers;
    const hostPort = (hostService?.address() as { port: number }).port;
    expect(await tcpOpens(await address(other), 5222)).toBe(true);
    // Prosody's metrics (mod_http_openmetrics): the platform scrapes them from the host.
    expect(await tcpOpens(await address(other), 5280)).toBe(true);
    expect(await tcpOpens(gateway, hostPort)).toBe(true);
    for (const target of [PRIVATE, METADATA, PUBLIC]) expect(await tcpOpens(target, LISTENER_PORT), target).toBe(true);
  });

  it('reaches neither another customer\'s container (its XMPP ports nor its metrics), nor the host, nor private or metadata addresses', async () => {
    const [one = '', other = ''] = servers;
    const hostPort = (hostService?.address() as { port: number }).port;
    const reached = {
      otherTenantXmpp: await opensFrom(one, await address(other), 5222),
      otherTenantS2s: await opensFrom(one, await address(other), 5269),
      otherTenantMetrics: await opensFrom(one, await address(other), 5280),
      hostService: await opensFrom(one, gateway, hostPort),
      privateNetwork: await opensFrom(one, PRIVATE, LISTENER_PORT),
      cloudMetadata: await opensFrom(one, METADATA, LISTENER_PORT),
    };
    expect(reached).toEqual({ otherTenantXmpp: false, otherTenantS2s: false, otherTenantMetrics: false, hostService: false, privateNetwork: false, cloudMetadata: false });
    // Still listening: refused by the firewall, not by a listener that had gone away.
    expect(await tcpOpens(gateway, hostPort)).toBe(true);
    expect(await tcpOpens(METADATA, LISTENER_PORT)).toBe(true);
  });

  it('still reaches the internet, where the servers it federates with are', async () => {
    const [one = ''] = servers;
    expect(await opensFrom(one, PUBLIC, LISTENER_PORT)).toBe(true);
  });
});
