import { randomBytes } from 'node:crypto';
import { adminSecretContext, exportContentContext } from '../../worker/src/contracts/secret-contexts.js';
import { sealDocument } from '../../worker/src/crypto/sealed-document.js';
import { PROVISIONING_QUEUE, SWEEP_JOB } from '../../worker/src/contracts/provisioning.js';
import { withToken, type ApiHarness, type TestAccount } from './api-harness.js';
import { failedJob } from './failed-job.js';

/** A resource owned by `owner`, and how to address it on the routes of one path template. */
export interface TenantResource {
  /** Values for the template's path parameters. */
  params: Record<string, string>;
  /** A valid body per method (POST/PUT/PATCH), so validation passes and ownership is what is tested. */
  bodies?: Partial<Record<'POST' | 'PUT' | 'PATCH' | 'DELETE', unknown>>;
}

export type TenantFixture = (harness: ApiHarness, owner: TestAccount) => Promise<TenantResource>;

/** A node of no server's, with a range of its own. */
function aNode(harness: ApiHarness, state: 'active' | 'draining') {
  const name = `n${randomBytes(4).toString('hex')}`;
  return harness.prisma.node.create({
    data: { name, hostname: `${name}.${harness.config.platformZone}`, publicAddress: '127.0.0.1', dockerEndpoint: 'unix:///var/run/docker.sock', portRangeStart: 30_000, portRangeEnd: 30_099, state },
  });
}

function created<T>(response: { statusCode: number; body: string; json: () => unknown }): T {
  if (response.statusCode !== 201) throw new Error(`fixture: creation answered ${response.statusCode}: ${response.body}`);
  return response.json() as T;
}

/**
 * One entry per OpenAPI path template with path parameters. tests/api/tenant-isolation.test.ts
 * runs every method of every such template in the spec and fails, naming the template, when an
 * entry is missing here: adding a route with an :id adds its isolation test by adding its fixture.
 * A fixture creates a fresh resource through the API as `owner`.
 */
/**
 * A ready server with an admin credential, written straight to the database: no worker runs in
 * API tests, and the API's own order route would stop at the plan's server quota.
 */
export async function readyServer(harness: ApiHarness, owner: TestAccount): Promise<{ id: string; name: string }> {
  const plan = await harness.prisma.plan.findUniqueOrThrow({ where: { code: 'team' } });
  const name = `t${randomBytes(5).toString('hex')}`;
  const server = await harness.prisma.server.create({
    data: { accountId: owner.id, name, domain: `${name}.${harness.config.platformZone}`, domainKind: 'platform', planId: plan.id, state: 'ready' },
  });
  await harness.prisma.serverCredential.create({
    data: {
      server: { connect: { id: server.id } },
      kind: 'admin',
      jid: `admin@${server.domain}`,
      appliedAt: new Date(),
      secret: { create: harness.app.secrets.seal('admin_password', 'fixture admin password', adminSecretContext(server.id)) },
    },
  });
  return { id: server.id, name };
}

const serverFixture =
  (post: unknown): TenantFixture =>
  async (harness, owner) => {
    const server = await readyServer(harness, owner);
    return { params: { id: server.id }, bodies: { POST: post, DELETE: { confirm: server.name } } };
  };

/** A domain nobody serves: verifying it answers 200 with every record "not found" or refused. */
const domainFixture: TenantFixture = async (harness, owner) => {
  const name = `d${randomBytes(5).toString('hex')}.example.net`;
  const body = created<{ id: string }>(await harness.inject({ method: 'POST', url: '/api/v1/domains', headers: withToken(owner), payload: { name } }));
  return { params: { id: body.id }, bodies: { POST: {} } };
};

/** A ready server of the owner with one XMPP user (password not yet revealed), made through the API. */
const xmppUserFixture: TenantFixture = async (harness, owner) => {
  const server = await readyServer(harness, owner);
  const localpart = `u${randomBytes(4).toString('hex')}`;
  const answer = await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/users`, headers: withToken(owner), payload: { localpart } });
  if (answer.statusCode !== 202) throw new Error(`fixture: user creation answered ${answer.statusCode}: ${answer.body}`);
  const { user } = answer.json<{ user: { id: string } }>();
  return { params: { serverId: server.id, id: user.id }, bodies: { POST: {} } };
};

const inviteFixture: TenantFixture = async (harness, owner) => {
  const server = await readyServer(harness, owner);
  const answer = await harness.inject({ method: 'POST', url: `/api/v1/servers/${server.id}/invites`, headers: withToken(owner), payload: {} });
  if (answer.statusCode !== 202) throw new Error(`fixture: invite creation answered ${answer.statusCode}: ${answer.body}`);
  return { params: { serverId: server.id, id: answer.json<{ id: string }>().id } };
};

/** A ready server of the owner with one finished backup (no worker runs in API tests: the row is written directly). */
const backupFixture: TenantFixture = async (harness, owner) => {
  const server = await readyServer(harness, owner);
  const backup = await harness.prisma.serverBackup.create({
    data: { serverId: server.id, kind: 'on_demand', status: 'succeeded', snapshotId: randomBytes(32).toString('hex'), finishedAt: new Date() },
  });
  return { params: { serverId: server.id, id: backup.id } };
};

/**
 * A server of the owner deleted a moment ago, its final backup kept for the grace period. The
 * owner's plan is raised first: the other fixtures' servers would fill the quota undoing checks.
 */
const deletedServerFixture: TenantFixture = async (harness, owner) => {
  const team = await harness.prisma.plan.findUniqueOrThrow({ where: { code: 'team' } });
  const { id: _id, code: _code, createdAt: _createdAt, updatedAt: _updatedAt, ...limits } = team;
  const roomy = await harness.prisma.plan.upsert({ where: { code: 'tenant-fixture' }, create: { ...limits, code: 'tenant-fixture', name: 'Tenant fixture', maxServers: 1000, active: false }, update: {} });
  await harness.prisma.account.update({ where: { id: owner.id }, data: { planId: roomy.id } });
  const server = await readyServer(harness, owner);
  const backup = await harness.prisma.serverBackup.create({
    data: { serverId: server.id, kind: 'final', status: 'succeeded', snapshotId: randomBytes(32).toString('hex'), finishedAt: new Date() },
  });
  await harness.prisma.server.update({
    where: { id: server.id },
    data: { state: 'deleted', desiredState: 'deleted', deletedAt: new Date(), finalBackupId: backup.id, purgeAfter: new Date(Date.now() + 86_400_000) },
  });
  return { params: { id: server.id } };
};

/** A finished export of a ready server, its document sealed as the worker seals it. */
export const exportFixture: TenantFixture = async (harness, owner) => {
  const server = await readyServer(harness, owner);
  const row = await harness.prisma.serverExport.create({ data: { serverId: server.id, status: 'succeeded', userCount: 0, finishedAt: new Date(), expiresAt: new Date(Date.now() + 86_400_000) } });
  const document = "<server-data xmlns='urn:xmpp:pie:0'><host jid='fixture.example'/></server-data>";
  await harness.prisma.serverExport.update({ where: { id: row.id }, data: { content: sealDocument(harness.app.secrets, document, exportContentContext(row.id)) } });
  return { params: { serverId: server.id, id: row.id } };
};

const serverChildrenFixture =
  (post: unknown): TenantFixture =>
  async (harness, owner) => ({ params: { serverId: (await readyServer(harness, owner)).id }, bodies: { POST: post } });

export const tenantFixtures: Record<string, TenantFixture> = {
  '/api/v1/servers/{id}': serverFixture({}),
  '/api/v1/servers/{id}/events': serverFixture({}),
  '/api/v1/servers/{id}/actions': serverFixture({ action: 'restart' }),
  '/api/v1/servers/{id}/credentials/reveal': serverFixture({}),
  '/api/v1/servers/{id}/credentials/reset': serverFixture({}),
  '/api/v1/servers/{id}/compliance': serverFixture({}),
  '/api/v1/servers/{id}/calls/secret/rotate': async (harness, owner) => {
    const server = await readyServer(harness, owner);
    // Sealed under the platform keyring, which the API never holds: its bytes are never opened here.
    const secret = await harness.prisma.encryptedSecret.create({ data: { purpose: 'turn_secret', keyring: 'platform', keyVersion: 1, iv: Buffer.alloc(12), ciphertext: Buffer.from('fixture'), authTag: Buffer.alloc(16) } });
    await harness.prisma.turnSecret.create({ data: { serverId: server.id, version: 1, secretId: secret.id } });
    return { params: { id: server.id }, bodies: { POST: {} } };
  },
  '/api/v1/servers/{id}/contacts': async (harness, owner) => ({ params: { id: (await readyServer(harness, owner)).id }, bodies: { PUT: { abuse: ['mailto:abuse@example.com'] } } }),
  '/api/v1/domains/{id}': domainFixture,
  '/api/v1/domains/{id}/verify': domainFixture,
  '/api/v1/servers/{serverId}/users': serverChildrenFixture({ localpart: 'tenant-fixture' }),
  '/api/v1/servers/{serverId}/users/{id}': xmppUserFixture,
  '/api/v1/servers/{serverId}/users/{id}/password': xmppUserFixture,
  '/api/v1/servers/{serverId}/users/{id}/password/reveal': xmppUserFixture,
  '/api/v1/servers/{serverId}/invites': serverChildrenFixture({ expiresInHours: 24 }),
  '/api/v1/servers/{serverId}/invites/{id}': inviteFixture,
  '/api/v1/servers/{serverId}/backups': serverChildrenFixture({}),
  '/api/v1/servers/{serverId}/backups/{id}/restore': backupFixture,
  '/api/v1/servers/{serverId}/exports': serverChildrenFixture({}),
  '/api/v1/servers/{serverId}/usage': serverChildrenFixture({}),
  '/api/v1/servers/{serverId}/exports/{id}/download': exportFixture,
  '/api/v1/deleted-servers/{id}/restore': deletedServerFixture,
  // A job of no customer's that failed on the harness's queue: operators retry it.
  '/api/v1/operator/jobs/{queue}/{jobId}/retry': async (harness) => ({
    params: { queue: PROVISIONING_QUEUE, jobId: await failedJob(harness.redis.url, PROVISIONING_QUEUE, { name: SWEEP_JOB, data: {}, reason: 'tenant fixture' }) },
    bodies: { POST: {} },
  }),
  // Nodes belong to no customer: operators drain one (another active node takes its servers) and activate it.
  '/api/v1/operator/nodes/{id}/drain': async (harness) => {
    const [drained] = [await aNode(harness, 'active'), await aNode(harness, 'active')];
    return { params: { id: drained.id }, bodies: { POST: {} } };
  },
  '/api/v1/operator/nodes/{id}/activate': async (harness) => ({ params: { id: (await aNode(harness, 'draining')).id }, bodies: { POST: {} } }),
  '/api/v1/tokens/{id}': async (harness, owner) => {
    const body = created<{ token: { id: string } }>(
      await harness.inject({ method: 'POST', url: '/api/v1/tokens', headers: withToken(owner), payload: { name: 'tenant fixture' } }),
    );
    return { params: { id: body.token.id } };
  },
};
