import { randomBytes, randomUUID } from 'node:crypto';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../api/src/auth/credentials.js';
import { base32Decode, timeStep, totpCode } from '../../api/src/auth/totp.js';
import { PROVISIONING_QUEUE, SERVER_BACKUP_JOB } from '../../worker/src/contracts/provisioning.js';
import {
  GOOD_PASSWORD,
  sessionCookieOf,
  startApiHarness,
  uniqueEmail,
  withCookie,
  withToken,
  type ApiHarness,
  type TestAccount,
} from '../support/api-harness.js';
import { fetchSpec, operationsOf, type Operation } from '../support/api-openapi.js';
import { readyServer, tenantFixtures } from '../support/api-tenant-fixtures.js';
import { failedJob } from '../support/failed-job.js';
import { linkIn } from '../support/test-mailbox.js';

// Every write route of the served spec leaves exactly one audit row of its action, naming its
// target and who acted: a new write route fails the coverage test until it has a case here.

interface CaseContext {
  harness: ApiHarness;
  /** A customer shared by the cases: only cases whose request changes nothing of the account itself use it. */
  owner: TestAccount;
  operator: TestAccount;
  /** Sends the request under test, once; audit rows written before it (by the arranging) do not count. */
  send(request: InjectOptions): Promise<LightMyRequestResponse>;
}

/** What the request under test answered, and what its audit row must name. */
interface Outcome {
  response: LightMyRequestResponse;
  targetId: string;
  actorId: string;
}

interface AuditedCase {
  /** The action of the one row the request must write. */
  action: string;
  /** Builds its own state, then sends one successful request through ctx.send. */
  run(ctx: CaseContext): Promise<Outcome>;
}

const WRITE_METHODS: readonly Operation['method'][] = ['POST', 'PUT', 'PATCH', 'DELETE'];

const hex = () => randomBytes(5).toString('hex');
/** An address of its own for the unauthenticated requests limited per address. */
const someAddress = () => `10.${randomBytes(3).join('.')}`;

/** A response of the arranging, which must have succeeded for the case to mean anything. */
function arranged(response: LightMyRequestResponse): LightMyRequestResponse {
  if (response.statusCode >= 300) throw new Error(`arranging failed: ${response.statusCode} ${response.body}`);
  return response;
}

/** The named path parameters of a fresh resource of the owner's, made by its tenant-isolation fixture. */
async function fixture<K extends string>(ctx: CaseContext, path: string, names: readonly K[]): Promise<Record<K, string>> {
  const make = tenantFixtures[path];
  if (!make) throw new Error(`no tenant fixture for ${path}`);
  const { params } = await make(ctx.harness, ctx.owner);
  return Object.fromEntries(
    names.map((name) => {
      const value = params[name];
      if (value === undefined) throw new Error(`the fixture of ${path} gave no ${name}`);
      return [name, value];
    }),
  ) as Record<K, string>;
}

/** The owner's request with its API token. */
const asOwner = (ctx: CaseContext, request: InjectOptions) => ctx.send({ ...request, headers: withToken(ctx.owner) });

/** Sessions are stored by their token's hash: the id of the one a "parley_session=<token>" cookie stands for. */
async function sessionIdOf(harness: ApiHarness, cookie: string): Promise<string> {
  const token = cookie.slice(cookie.indexOf('=') + 1);
  return (await harness.prisma.session.findFirstOrThrow({ where: { tokenHash: sha256(token) } })).id;
}

/**
 * A fresh account with two-factor on. Its recovery codes serve as the second factor later: a
 * TOTP code of a step already accepted (the confirmation's) would be refused as a replay.
 */
async function twoFactorAccount(harness: ApiHarness): Promise<{ account: TestAccount; recoveryCodes: string[] }> {
  const account = await harness.signUp();
  const started = arranged(
    await harness.inject({ method: 'POST', url: '/api/v1/me/two-factor/enrolment', headers: withCookie(account), payload: { password: account.password } }),
  );
  const code = totpCode(base32Decode(started.json<{ secret: string }>().secret), timeStep(new Date()));
  const confirmed = arranged(await harness.inject({ method: 'POST', url: '/api/v1/me/two-factor/enrolment/confirm', headers: withCookie(account), payload: { code } }));
  return { account, recoveryCodes: confirmed.json<{ recoveryCodes: string[] }>().recoveryCodes };
}

/** A node of its own (unique name and port range), as tests/api/nodes.test.ts makes them. */
function aNode(harness: ApiHarness) {
  const name = `n${randomBytes(4).toString('hex')}`;
  const start = 20_000 + Math.floor(Math.random() * 40_000);
  return harness.prisma.node.create({
    data: { name, hostname: `${name}.${harness.config.platformZone}`, publicAddress: '127.0.0.1', dockerEndpoint: 'unix:///var/run/docker.sock', portRangeStart: start, portRangeEnd: start + 99 },
  });
}

/** One case per write on a fresh ready server of the owner's; the row targets the server. */
function onServer(action: string, request: (server: { id: string; name: string }) => InjectOptions): AuditedCase {
  return {
    action,
    async run(ctx) {
      const server = await readyServer(ctx.harness, ctx.owner);
      return { response: await asOwner(ctx, request(server)), targetId: server.id, actorId: ctx.owner.id };
    },
  };
}

const serverAction = (action: 'start' | 'stop' | 'restart'): AuditedCase => ({
  action: `server.${action}`,
  async run(ctx) {
    const server = await readyServer(ctx.harness, ctx.owner);
    // Starting is what a stopped server is for: the case starts one that is stopped.
    if (action === 'start') await ctx.harness.prisma.server.update({ where: { id: server.id }, data: { state: 'stopped', desiredState: 'stopped' } });
    const response = await asOwner(ctx, { method: 'POST', url: `/api/v1/servers/${server.id}/actions`, payload: { action } });
    return { response, targetId: server.id, actorId: ctx.owner.id };
  },
});

const AUDITED: Record<string, AuditedCase | AuditedCase[]> = {
  'POST /api/v1/accounts': {
    action: 'account.create',
    async run(ctx) {
      const response = await ctx.send({ method: 'POST', url: '/api/v1/accounts', payload: { email: uniqueEmail('audit'), password: GOOD_PASSWORD }, remoteAddress: someAddress() });
      const { id } = response.json<{ account: { id: string } }>().account;
      return { response, targetId: id, actorId: id };
    },
  },
  'POST /api/v1/sessions': {
    action: 'session.create',
    async run(ctx) {
      const response = await ctx.send({ method: 'POST', url: '/api/v1/sessions', payload: { email: ctx.owner.email, password: ctx.owner.password } });
      return { response, targetId: await sessionIdOf(ctx.harness, sessionCookieOf(response)), actorId: ctx.owner.id };
    },
  },
  'POST /api/v1/sessions/two-factor': {
    action: 'session.create',
    async run(ctx) {
      const { account, recoveryCodes } = await twoFactorAccount(ctx.harness);
      const first = arranged(await ctx.harness.inject({ method: 'POST', url: '/api/v1/sessions', payload: { email: account.email, password: account.password } }));
      const { challenge } = first.json<{ challenge: string }>();
      const response = await ctx.send({ method: 'POST', url: '/api/v1/sessions/two-factor', payload: { challenge, code: recoveryCodes[0] } });
      return { response, targetId: await sessionIdOf(ctx.harness, sessionCookieOf(response)), actorId: account.id };
    },
  },
  'DELETE /api/v1/sessions/current': {
    action: 'session.delete',
    async run(ctx) {
      const account = await ctx.harness.signUp();
      const sessionId = await sessionIdOf(ctx.harness, account.cookie);
      const response = await ctx.send({ method: 'DELETE', url: '/api/v1/sessions/current', headers: withCookie(account) });
      return { response, targetId: sessionId, actorId: account.id };
    },
  },
  'POST /api/v1/me/password': {
    action: 'account.password_change',
    async run(ctx) {
      const account = await ctx.harness.signUp();
      const response = await ctx.send({
        method: 'POST',
        url: '/api/v1/me/password',
        headers: withCookie(account),
        payload: { currentPassword: account.password, newPassword: 'amber kettle meadow signal' },
      });
      return { response, targetId: account.id, actorId: account.id };
    },
  },
  'POST /api/v1/me/email/verification-mail': {
    action: 'account.verification_mail',
    async run(ctx) {
      const account = await ctx.harness.signUp();
      const response = await ctx.send({ method: 'POST', url: '/api/v1/me/email/verification-mail', headers: withToken(account), payload: {} });
      return { response, targetId: account.id, actorId: account.id };
    },
  },
  'POST /api/v1/me/email/verify': {
    action: 'account.email_verify',
    async run(ctx) {
      const account = await ctx.harness.signUp();
      const { token } = linkIn(await ctx.harness.mailbox.waitFor(account.email, /Confirm your email/), 'verify-email');
      const response = await ctx.send({ method: 'POST', url: '/api/v1/me/email/verify', payload: { token } });
      return { response, targetId: account.id, actorId: account.id };
    },
  },
  // 202 whether or not the email has an account, but for one that has, the service writes the row.
  'POST /api/v1/password-reset': {
    action: 'account.password_reset_request',
    async run(ctx) {
      const account = await ctx.harness.signUp();
      const response = await ctx.send({ method: 'POST', url: '/api/v1/password-reset', payload: { email: account.email }, remoteAddress: someAddress() });
      return { response, targetId: account.id, actorId: account.id };
    },
  },
  'POST /api/v1/password-reset/confirm': {
    action: 'account.password_reset',
    async run(ctx) {
      const account = await ctx.harness.signUp();
      arranged(await ctx.harness.inject({ method: 'POST', url: '/api/v1/password-reset', payload: { email: account.email }, remoteAddress: someAddress() }));
      const { token } = linkIn(await ctx.harness.mailbox.waitFor(account.email, /Reset your Parley password/), 'reset-password');
      const response = await ctx.send({ method: 'POST', url: '/api/v1/password-reset/confirm', payload: { token, newPassword: 'amber kettle meadow signal' } });
      return { response, targetId: account.id, actorId: account.id };
    },
  },
  'POST /api/v1/me/two-factor/enrolment': {
    action: 'account.two_factor_enrol',
    async run(ctx) {
      const account = await ctx.harness.signUp();
      const response = await ctx.send({ method: 'POST', url: '/api/v1/me/two-factor/enrolment', headers: withCookie(account), payload: { password: account.password } });
      return { response, targetId: account.id, actorId: account.id };
    },
  },
  'POST /api/v1/me/two-factor/enrolment/confirm': {
    action: 'account.two_factor_on',
    async run(ctx) {
      const account = await ctx.harness.signUp();
      const started = arranged(
        await ctx.harness.inject({ method: 'POST', url: '/api/v1/me/two-factor/enrolment', headers: withCookie(account), payload: { password: account.password } }),
      );
      const code = totpCode(base32Decode(started.json<{ secret: string }>().secret), timeStep(new Date()));
      const response = await ctx.send({ method: 'POST', url: '/api/v1/me/two-factor/enrolment/confirm', headers: withCookie(account), payload: { code } });
      return { response, targetId: account.id, actorId: account.id };
    },
  },
  'POST /api/v1/me/two-factor/disable': {
    action: 'account.two_factor_off',
    async run(ctx) {
      const { account, recoveryCodes } = await twoFactorAccount(ctx.harness);
      const response = await ctx.send({
        method: 'POST',
        url: '/api/v1/me/two-factor/disable',
        headers: withCookie(account),
        payload: { password: account.password, code: recoveryCodes[0] },
      });
      return { response, targetId: account.id, actorId: account.id };
    },
  },
  'POST /api/v1/tokens': {
    action: 'token.create',
    async run(ctx) {
      const response = await asOwner(ctx, { method: 'POST', url: '/api/v1/tokens', payload: { name: 'audit coverage' } });
      return { response, targetId: response.json<{ token: { id: string } }>().token.id, actorId: ctx.owner.id };
    },
  },
  'DELETE /api/v1/tokens/{id}': {
    action: 'token.revoke',
    async run(ctx) {
      const { id } = await fixture(ctx, '/api/v1/tokens/{id}', ['id']);
      return { response: await asOwner(ctx, { method: 'DELETE', url: `/api/v1/tokens/${id}` }), targetId: id, actorId: ctx.owner.id };
    },
  },
  'POST /api/v1/domains': {
    action: 'domain.create',
    async run(ctx) {
      const response = await asOwner(ctx, { method: 'POST', url: '/api/v1/domains', payload: { name: `d${hex()}.example.net` } });
      return { response, targetId: response.json<{ id: string }>().id, actorId: ctx.owner.id };
    },
  },
  'DELETE /api/v1/domains/{id}': {
    action: 'domain.delete',
    async run(ctx) {
      const { id } = await fixture(ctx, '/api/v1/domains/{id}', ['id']);
      return { response: await asOwner(ctx, { method: 'DELETE', url: `/api/v1/domains/${id}` }), targetId: id, actorId: ctx.owner.id };
    },
  },
  'POST /api/v1/domains/{id}/verify': {
    action: 'domain.verify',
    async run(ctx) {
      const { id } = await fixture(ctx, '/api/v1/domains/{id}/verify', ['id']);
      return { response: await asOwner(ctx, { method: 'POST', url: `/api/v1/domains/${id}/verify`, payload: {} }), targetId: id, actorId: ctx.owner.id };
    },
  },
  'POST /api/v1/servers': {
    action: 'server.create',
    async run(ctx) {
      // An account of its own: the shared owner's ready servers would fill the plan's quota.
      const account = await ctx.harness.signUp();
      const response = await ctx.send({ method: 'POST', url: '/api/v1/servers', headers: withToken(account), payload: { name: `a${hex()}` } });
      return { response, targetId: response.json<{ id: string }>().id, actorId: account.id };
    },
  },
  'DELETE /api/v1/servers/{id}': onServer('server.delete', (server) => ({ method: 'DELETE', url: `/api/v1/servers/${server.id}`, payload: { confirm: server.name } })),
  // Each action is audited under its own name.
  'POST /api/v1/servers/{id}/actions': [serverAction('start'), serverAction('stop'), serverAction('restart')],
  'POST /api/v1/servers/{id}/calls/secret/rotate': {
    action: 'server.calls_secret_rotate',
    async run(ctx) {
      // The fixture gives the server the TURN secret there must be to rotate.
      const { id } = await fixture(ctx, '/api/v1/servers/{id}/calls/secret/rotate', ['id']);
      return { response: await asOwner(ctx, { method: 'POST', url: `/api/v1/servers/${id}/calls/secret/rotate`, payload: {} }), targetId: id, actorId: ctx.owner.id };
    },
  },
  'POST /api/v1/servers/{id}/compliance': onServer('server.compliance_check', (server) => ({ method: 'POST', url: `/api/v1/servers/${server.id}/compliance`, payload: {} })),
  // The admin password reset.
  'POST /api/v1/servers/{id}/credentials/reset': onServer('credential.reset', (server) => ({ method: 'POST', url: `/api/v1/servers/${server.id}/credentials/reset`, payload: {} })),
  'POST /api/v1/servers/{id}/credentials/reveal': onServer('credential.reveal', (server) => ({ method: 'POST', url: `/api/v1/servers/${server.id}/credentials/reveal`, payload: {} })),
  'PUT /api/v1/servers/{id}/contacts': onServer('server.contacts_update', (server) => ({
    method: 'PUT',
    url: `/api/v1/servers/${server.id}/contacts`,
    payload: { abuse: ['mailto:abuse@example.com'] },
  })),
  'POST /api/v1/servers/{serverId}/users': {
    action: 'xmpp_user.create',
    async run(ctx) {
      const server = await readyServer(ctx.harness, ctx.owner);
      const response = await asOwner(ctx, { method: 'POST', url: `/api/v1/servers/${server.id}/users`, payload: { localpart: `u${hex()}` } });
      return { response, targetId: response.json<{ user: { id: string } }>().user.id, actorId: ctx.owner.id };
    },
  },
  'DELETE /api/v1/servers/{serverId}/users/{id}': {
    action: 'xmpp_user.delete',
    async run(ctx) {
      const { serverId, id } = await fixture(ctx, '/api/v1/servers/{serverId}/users/{id}', ['serverId', 'id']);
      return { response: await asOwner(ctx, { method: 'DELETE', url: `/api/v1/servers/${serverId}/users/${id}` }), targetId: id, actorId: ctx.owner.id };
    },
  },
  'POST /api/v1/servers/{serverId}/users/{id}/password': {
    action: 'xmpp_user.password_reset',
    async run(ctx) {
      const { serverId, id } = await fixture(ctx, '/api/v1/servers/{serverId}/users/{id}/password', ['serverId', 'id']);
      const response = await asOwner(ctx, { method: 'POST', url: `/api/v1/servers/${serverId}/users/${id}/password`, payload: {} });
      return { response, targetId: id, actorId: ctx.owner.id };
    },
  },
  'POST /api/v1/servers/{serverId}/users/{id}/password/reveal': {
    action: 'xmpp_user.password_reveal',
    async run(ctx) {
      const { serverId, id } = await fixture(ctx, '/api/v1/servers/{serverId}/users/{id}/password/reveal', ['serverId', 'id']);
      const response = await asOwner(ctx, { method: 'POST', url: `/api/v1/servers/${serverId}/users/${id}/password/reveal`, payload: {} });
      return { response, targetId: id, actorId: ctx.owner.id };
    },
  },
  'POST /api/v1/servers/{serverId}/invites': {
    action: 'invite.create',
    async run(ctx) {
      const server = await readyServer(ctx.harness, ctx.owner);
      const response = await asOwner(ctx, { method: 'POST', url: `/api/v1/servers/${server.id}/invites`, payload: { expiresInHours: 24 } });
      return { response, targetId: response.json<{ id: string }>().id, actorId: ctx.owner.id };
    },
  },
  'DELETE /api/v1/servers/{serverId}/invites/{id}': {
    action: 'invite.revoke',
    async run(ctx) {
      const { serverId, id } = await fixture(ctx, '/api/v1/servers/{serverId}/invites/{id}', ['serverId', 'id']);
      return { response: await asOwner(ctx, { method: 'DELETE', url: `/api/v1/servers/${serverId}/invites/${id}` }), targetId: id, actorId: ctx.owner.id };
    },
  },
  'POST /api/v1/servers/{serverId}/backups': onServer('server.backup', (server) => ({ method: 'POST', url: `/api/v1/servers/${server.id}/backups`, payload: {} })),
  'POST /api/v1/servers/{serverId}/backups/{id}/restore': {
    action: 'server.restore',
    async run(ctx) {
      // A finished backup, written as the worker would have.
      const { serverId, id } = await fixture(ctx, '/api/v1/servers/{serverId}/backups/{id}/restore', ['serverId', 'id']);
      const response = await asOwner(ctx, { method: 'POST', url: `/api/v1/servers/${serverId}/backups/${id}/restore`, payload: {} });
      return { response, targetId: serverId, actorId: ctx.owner.id };
    },
  },
  'POST /api/v1/servers/{serverId}/exports': onServer('server.export', (server) => ({ method: 'POST', url: `/api/v1/servers/${server.id}/exports`, payload: {} })),
  'POST /api/v1/imports': {
    action: 'server_import.create',
    async run(ctx) {
      const document = "<server-data xmlns='urn:xmpp:pie:0'><host jid='old.example'><user name='alice'/></host></server-data>";
      const response = await ctx.send({ method: 'POST', url: '/api/v1/imports', headers: { ...withToken(ctx.owner), 'content-type': 'application/xml' }, payload: document });
      return { response, targetId: response.json<{ id: string }>().id, actorId: ctx.owner.id };
    },
  },
  'POST /api/v1/deleted-servers/{id}/restore': {
    action: 'server.undelete',
    async run(ctx) {
      // Deleted within its grace period, its final backup finished.
      const { id } = await fixture(ctx, '/api/v1/deleted-servers/{id}/restore', ['id']);
      return { response: await asOwner(ctx, { method: 'POST', url: `/api/v1/deleted-servers/${id}/restore`, payload: {} }), targetId: id, actorId: ctx.owner.id };
    },
  },
  'POST /api/v1/operator/jobs/{queue}/{jobId}/retry': {
    action: 'job.retry',
    async run(ctx) {
      // A job of a customer's server, so the row targets that server.
      const server = await readyServer(ctx.harness, ctx.owner);
      const jobId = await failedJob(ctx.harness.redis.url, PROVISIONING_QUEUE, {
        name: SERVER_BACKUP_JOB,
        data: { serverId: server.id, backupId: randomUUID() },
        reason: 'audit coverage',
      });
      const response = await ctx.send({
        method: 'POST',
        url: `/api/v1/operator/jobs/${encodeURIComponent(PROVISIONING_QUEUE)}/${encodeURIComponent(jobId)}/retry`,
        headers: withToken(ctx.operator),
        payload: {},
      });
      return { response, targetId: server.id, actorId: ctx.operator.id };
    },
  },
  'POST /api/v1/operator/moves': {
    action: 'server.move',
    async run(ctx) {
      const { prisma } = ctx.harness;
      const [from, to] = [await aNode(ctx.harness), await aNode(ctx.harness)];
      const server = await readyServer(ctx.harness, ctx.owner);
      await prisma.server.update({ where: { id: server.id }, data: { nodeId: from.id } });
      await prisma.portAllocation.createMany({
        data: (['c2s', 'c2s_direct_tls', 's2s', 'https'] as const).map((purpose, i) => ({ nodeId: from.id, serverId: server.id, purpose, port: from.portRangeStart + i })),
      });
      const response = await ctx.send({ method: 'POST', url: '/api/v1/operator/moves', headers: withToken(ctx.operator), payload: { serverId: server.id, nodeId: to.id } });
      return { response, targetId: server.id, actorId: ctx.operator.id };
    },
  },
  'POST /api/v1/operator/nodes/{id}/drain': {
    action: 'node.drain',
    async run(ctx) {
      const [drained] = [await aNode(ctx.harness), await aNode(ctx.harness)];
      const response = await ctx.send({ method: 'POST', url: `/api/v1/operator/nodes/${drained.id}/drain`, headers: withToken(ctx.operator), payload: {} });
      return { response, targetId: drained.id, actorId: ctx.operator.id };
    },
  },
  'POST /api/v1/operator/nodes/{id}/activate': {
    action: 'node.activate',
    async run(ctx) {
      const node = await aNode(ctx.harness);
      await ctx.harness.prisma.node.update({ where: { id: node.id }, data: { state: 'draining' } });
      const response = await ctx.send({ method: 'POST', url: `/api/v1/operator/nodes/${node.id}/activate`, headers: withToken(ctx.operator), payload: {} });
      return { response, targetId: node.id, actorId: ctx.operator.id };
    },
  },
};

let harness: ApiHarness;
let owner: TestAccount;
let operator: TestAccount;
let writeRoutes: string[];

beforeAll(async () => {
  harness = await startApiHarness();
  writeRoutes = operationsOf(await fetchSpec(harness))
    .filter((op) => WRITE_METHODS.includes(op.method))
    .map((op) => `${op.method} ${op.path}`);
  [owner, operator] = [await harness.signUp(), await harness.signUp({ operator: true })];
});

afterAll(async () => {
  await harness?.close();
});

async function lastAuditId(): Promise<bigint> {
  const { _max } = await harness.prisma.auditLog.aggregate({ _max: { id: true } });
  return _max.id ?? 0n;
}

describe('every write leaves its audit row', () => {
  it('has a case for exactly the write routes of the spec', () => {
    expect(Object.keys(AUDITED).sort(), 'add the new write route to AUDITED in this file').toEqual([...writeRoutes].sort());
  });

  // Made from the table, which the test above proves equal to the spec.
  const cases = Object.entries(AUDITED).flatMap(([route, entry]) => [entry].flat().map((audited) => ({ route, audited })));
  for (const { route, audited } of cases) {
    it(`${route} writes one ${audited.action} row`, async () => {
      const sent: { after?: bigint } = {};
      const ctx: CaseContext = {
        harness,
        owner,
        operator,
        async send(request) {
          if (sent.after !== undefined) throw new Error('a case sends one request under test');
          sent.after = await lastAuditId();
          return harness.inject(request);
        },
      };
      const { response, targetId, actorId } = await audited.run(ctx);
      expect(response.statusCode, response.body).toBeGreaterThanOrEqual(200);
      expect(response.statusCode, response.body).toBeLessThan(300);
      if (sent.after === undefined) throw new Error('the case sent no request under test');
      const rows = await harness.prisma.auditLog.findMany({ where: { id: { gt: sent.after }, action: audited.action }, select: { targetId: true, actorId: true } });
      expect(rows, `${audited.action} rows written by ${route}`).toEqual([{ targetId, actorId }]);
    });
  }
});
