import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpForToken, startPlatformApi, type ListeningApi } from '../support/platform-api.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { runProcess } from '../support/run-process.js';
import { childProcessEnv, testEnv } from '../support/test-env.js';

// `./parley node` as operators run it: its own process against the platform's database (and its
// API, for a drain), its input checked before anything changes. (Joining a Swarm through it is
// tested in swarm-platform.test.ts.)
describe('./parley node', () => {
  let harness: ProvisioningHarness;
  let api: ListeningApi;

  const nodeAs = (apiToken: string, ...args: string[]) => {
    const { hostname, port } = new URL(api.url);
    return runProcess(['node', '--import', 'tsx', 'worker/src/nodes/node-admin.main.ts', ...args], {
      ...childProcessEnv(),
      DATABASE_URL: harness.db.url,
      CONTAINER_RUNTIME: 'docker',
      API_HOST: hostname,
      API_PORT: port,
      PARLEY_API_TOKEN: apiToken,
    });
  };
  const node = (...args: string[]) => nodeAs('', ...args);
  const engine = `unix://${testEnv().DOCKER_SOCKET}`;
  const add = (name: string, address: string, ...extra: string[]) => node('add', name, '--address', address, '--docker', engine, ...extra);

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(46_400);
    api = await startPlatformApi(harness);
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await harness?.close();
  });

  it('refuses bad input with the usage or the reason, registering nothing', async () => {
    expect(await node()).toMatchObject({ code: 2, out: expect.stringContaining('usage: ./parley node list') as unknown });
    expect(await add('Bad_Name', '127.0.0.9')).toMatchObject({ code: 2, out: expect.stringContaining('lowercase letters') as unknown });
    expect(await add('cli-b', 'not-an-ip')).toMatchObject({ code: 2, out: expect.stringContaining('publicAddress: must be an IP address') as unknown });
    expect(await node('add', 'cli-b', '--address', '127.0.0.9', '--docker', 'tcp://10.0.0.5:2376')).toMatchObject({ code: 2, out: expect.stringContaining('unix:///') as unknown });
    expect(await add('cli-b', '127.0.0.9', '--ports', '100-200')).toMatchObject({ code: 2, out: expect.stringContaining('portRangeStart') as unknown });
    expect(await add('cli-b', '127.0.0.9', '--max-servers', 'many')).toMatchObject({ code: 2, out: expect.stringContaining('--max-servers must be a whole number') as unknown });
    expect(await node('drain', 'cli-b')).toMatchObject({ code: 2, out: expect.stringContaining('PARLEY_API_TOKEN') as unknown });
    expect(await harness.prisma.node.findUnique({ where: { name: 'cli-b' } })).toBeNull();
  }, 120_000);

  it('adds nodes with their capacity, lists them, drains one through the API, and removes an empty one (kept as removed)', async () => {
    const added = await add('cli-a', '127.0.0.9', '--ports', '30000-30399', '--max-servers', '5', '--memory-mib', '4096');
    expect(added, added.out).toMatchObject({ code: 0, out: 'node cli-a registered; new servers can be placed on it\n' });
    expect(await harness.prisma.node.findUniqueOrThrow({ where: { name: 'cli-a' } })).toMatchObject({
      publicAddress: '127.0.0.9',
      dockerEndpoint: engine,
      portRangeStart: 30_000,
      portRangeEnd: 30_399,
      maxServers: 5,
      memoryMiB: 4096,
      state: 'active',
    });
    expect((await add('cli-c', '127.0.0.10')).code).toBe(0);
    const listed = await node('list');
    expect(listed.code).toBe(0);
    expect(listed.out).toContain('cli-a  active  127.0.0.9  0/5 servers  4096 MiB  ports 30000-30399');

    const token = await signUpForToken(api.url, async (accountId) => {
      await harness.prisma.account.update({ where: { id: accountId }, data: { role: 'operator' } });
    });
    const drained = await nodeAs(token, 'drain', 'cli-c');
    expect(drained, drained.out).toMatchObject({ code: 0, out: expect.stringMatching(/^node cli-c is draining \(request [0-9a-f-]{36}\)/) as unknown });
    expect((await harness.prisma.node.findUniqueOrThrow({ where: { name: 'cli-c' } })).state).toBe('draining');
    expect(await harness.prisma.auditLog.count({ where: { action: 'node.drain' } })).toBe(1);
    expect(await nodeAs(token, 'drain', 'cli-z')).toMatchObject({ code: 1, out: expect.stringContaining('no node named cli-z') as unknown });

    expect(await node('remove', 'cli-c')).toMatchObject({ code: 0, out: 'node cli-c removed: 0 DNS record(s) of its own withdrawn\n' });
    expect((await harness.prisma.node.findUniqueOrThrow({ where: { name: 'cli-c' } })).state).toBe('removed');
    expect(await node('remove', 'cli-c')).toMatchObject({ code: 1, out: expect.stringContaining('no node named cli-c') as unknown });
  }, 120_000);
});
