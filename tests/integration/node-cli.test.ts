import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProcess } from '../support/run-process.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { childProcessEnv, testEnv } from '../support/test-env.js';

// `./parley node` as operators run it: its own process against a database, its input checked
// before anything changes. (Joining a Swarm through it is tested in swarm-platform.test.ts.)
describe('./parley node', () => {
  let db: TestDatabase;

  const node = (...args: string[]) =>
    runProcess(['node', '--import', 'tsx', 'worker/src/nodes/node-admin.main.ts', ...args], { ...childProcessEnv(), DATABASE_URL: db.url, CONTAINER_RUNTIME: 'docker', PARLEY_API_TOKEN: '' });
  const engine = `unix://${testEnv().DOCKER_SOCKET}`;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('refuses bad input with the usage or the reason, registering nothing', async () => {
    expect(await node()).toMatchObject({ code: 2, out: expect.stringContaining('usage: ./parley node list') as unknown });
    expect(await node('add', 'Bad_Name', '--address', '127.0.0.9', '--docker', engine)).toMatchObject({ code: 2, out: expect.stringContaining('lowercase letters') as unknown });
    expect(await node('add', 'cli-b', '--address', 'not-an-ip', '--docker', engine)).toMatchObject({ code: 2, out: expect.stringContaining('publicAddress: must be an IP address') as unknown });
    expect(await node('add', 'cli-b', '--address', '127.0.0.9', '--docker', 'tcp://10.0.0.5:2376')).toMatchObject({ code: 2, out: expect.stringContaining('unix:///') as unknown });
    expect(await node('add', 'cli-b', '--address', '127.0.0.9', '--docker', engine, '--ports', '100-200')).toMatchObject({ code: 2, out: expect.stringContaining('portRangeStart') as unknown });
    expect(await node('add', 'cli-b', '--address', '127.0.0.9', '--docker', engine, '--max-servers', 'many')).toMatchObject({ code: 2, out: expect.stringContaining('--max-servers must be a whole number') as unknown });
    expect(await node('drain', 'cli-b')).toMatchObject({ code: 2, out: expect.stringContaining('PARLEY_API_TOKEN') as unknown });
    expect(await db.prisma.node.findUnique({ where: { name: 'cli-b' } })).toBeNull();
  }, 120_000);

  it('adds a node with its capacity, lists it, and removes it (kept as removed)', async () => {
    const added = await node('add', 'cli-a', '--address', '127.0.0.9', '--docker', engine, '--ports', '30000-30399', '--max-servers', '5', '--memory-mib', '4096');
    expect(added, added.out).toMatchObject({ code: 0, out: 'node cli-a registered; new servers can be placed on it\n' });
    expect(await db.prisma.node.findUniqueOrThrow({ where: { name: 'cli-a' } })).toMatchObject({
      publicAddress: '127.0.0.9',
      dockerEndpoint: engine,
      portRangeStart: 30_000,
      portRangeEnd: 30_399,
      maxServers: 5,
      memoryMiB: 4096,
      state: 'active',
    });
    const listed = await node('list');
    expect(listed.code).toBe(0);
    expect(listed.out).toContain('cli-a  active  127.0.0.9  0/5 servers  4096 MiB  ports 30000-30399');
    expect(await node('remove', 'cli-a')).toMatchObject({ code: 0, out: 'node cli-a removed: 0 DNS record(s) of its own withdrawn\n' });
    expect((await db.prisma.node.findUniqueOrThrow({ where: { name: 'cli-a' } })).state).toBe('removed');
    expect(await node('remove', 'cli-a')).toMatchObject({ code: 1, out: expect.stringContaining('no node named cli-a') as unknown });
  }, 120_000);
});
