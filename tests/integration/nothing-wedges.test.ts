import { randomUUID } from 'node:crypto';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as acme from 'acme-client';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdapters } from '../../worker/src/adapters.js';
import { DEPROVISION_JOB, RECONCILE_JOB, deprovisionJobId } from '../../worker/src/contracts/provisioning.js';
import { enqueueServerAction } from '../../worker/src/contracts/provisioning-flow.js';
import { sealUserPassword } from '../../worker/src/contracts/xmpp-user-jobs.js';
import { acmeAccountKeyContext } from '../../worker/src/contracts/secret-contexts.js';
import { REVOKE_STEP } from '../../worker/src/provisioning/certificate-revocation.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { pebbleIssuers } from '../support/pebble.js';
import { connectAs } from '../support/xmpp.js';

/** Accepts connections and never says a word: what a hung dependency looks like from here. */
class SilentServer {
  private readonly sockets = new Set<Socket>();
  private constructor(readonly server: TcpServer) {
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async listen(path?: string): Promise<SilentServer> {
    const silent = new SilentServer(createTcpServer());
    await new Promise<void>((resolve) => (path ? silent.server.listen(path, resolve) : silent.server.listen(0, '127.0.0.1', resolve)));
    return silent;
  }

  get port(): number {
    const address = this.server.address();
    if (typeof address !== 'object' || address === null) throw new Error('not listening on TCP');
    return address.port;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

// One server through each wedge in turn, ending with its deletion: in order.
describe('nothing wedges', { shuffle: false }, () => {
  let harness: ProvisioningHarness;
  let serverId: string;
  let domain: string;
  let root: string;
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });

  const queue = async () => (await harness.startWorker()).queue;
  const containerState = async (id: string) => (await docker.listContainers({ all: true, filters: { label: [`parley.server=${id}`] } }))[0]?.State;

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(43_000);
    // Reconcile passes run only when a test queues one; anything unfinished for 2 s with nothing queued is stuck.
    harness.config.deadlines.stuckAfterMs = 2_000;
    ({ serverId, domain } = await harness.placeOrder());
    await harness.provision(serverId);
    await harness.waitForState(serverId, 'ready');
    root = (await pebbleIssuers()).root.toString();
  });

  afterAll(async () => {
    await harness.close();
  });

  it('converges concurrent stop and start on the last request', async () => {
    // What the API does per request: the desired state on the row, then the job.
    await harness.prisma.server.update({ where: { id: serverId }, data: { desiredState: 'stopped' } });
    await enqueueServerAction(await queue(), serverId, 'stop', randomUUID());
    await harness.prisma.server.update({ where: { id: serverId }, data: { desiredState: 'running' } });
    await enqueueServerAction(await queue(), serverId, 'start', randomUUID());

    await until('both requests settled', async () => {
      const events = await harness.prisma.provisioningEvent.findMany({ where: { serverId, step: { in: ['stop', 'start'] }, status: { in: ['succeeded', 'info'] } } });
      return events.some((e) => e.step === 'stop') && events.some((e) => e.step === 'start');
    });
    await harness.waitForState(serverId, 'ready');
    expect(await containerState(serverId)).toBe('running');
    const { password } = await harness.adminPassword(serverId);
    const c2s = (await harness.prisma.portAllocation.findFirstOrThrow({ where: { serverId, purpose: 'c2s' } })).port;
    const session = await connectAs({ host: '127.0.0.1', port: c2s, domain, username: 'admin', password, trustedCaPems: [root], timeoutMs: 10_000 });
    await session.close();
  });

  it('queues a user and an invite whose jobs never reached the queue; both reach Prosody', async () => {
    const password = 'correct horse battery staple';
    const user = await harness.prisma.xmppUser.create({ data: { serverId, localpart: 'lost' } });
    await harness.prisma.xmppUser.update({ where: { id: user.id }, data: { secret: { create: sealUserPassword(harness.secrets, user.id, password) } } });
    const invite = await harness.prisma.invite.create({ data: { serverId, expiresAt: new Date(Date.now() + 3_600_000) } });

    await (await queue()).add(RECONCILE_JOB, {});
    await until('the user and the invite are active', async () => {
      const [u, i] = await Promise.all([
        harness.prisma.xmppUser.findUniqueOrThrow({ where: { id: user.id } }),
        harness.prisma.invite.findUniqueOrThrow({ where: { id: invite.id } }),
      ]);
      return u.state === 'active' && i.state === 'active';
    });
    expect((await harness.prisma.invite.findUniqueOrThrow({ where: { id: invite.id } })).uriSecretId).not.toBeNull();
    const c2s = (await harness.prisma.portAllocation.findFirstOrThrow({ where: { serverId, purpose: 'c2s' } })).port;
    const session = await connectAs({ host: '127.0.0.1', port: c2s, domain, username: 'lost', password, trustedCaPems: [root], timeoutMs: 10_000 });
    await session.close();
  });

  it('completes a deletion whose revocation the CA refuses, and records the refusal', { timeout: 90_000 }, async () => {
    const certificate = await harness.prisma.certificate.findFirstOrThrow({ where: { serverId, status: 'active' } });
    // The same Pebble under another name: a directory that has never seen this account key.
    const directoryUrl = 'https://localhost:14000/dir';
    const strangerKey = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString('utf8');
    const account = await harness.prisma.acmeAccount.create({
      data: {
        directoryUrl,
        contactEmail: 'ops@example.test',
        key: { create: harness.secrets.seal('acme_account_key', strangerKey, acmeAccountKeyContext(directoryUrl)) },
      },
    });
    await harness.prisma.certificate.update({ where: { id: certificate.id }, data: { acmeAccountId: account.id } });

    await harness.deprovision(serverId);
    await harness.waitForState(serverId, 'deleted', 60_000).catch(async (error: unknown) => {
      console.log(await harness.prisma.provisioningEvent.findMany({ where: { serverId }, orderBy: { id: 'desc' }, take: 5 }));
      throw error;
    });

    const after = await harness.prisma.certificate.findUniqueOrThrow({ where: { id: certificate.id } });
    expect(after.status).toBe('active');
    expect(after.lastErrorType).toBe('acme_rejected');
    expect(after.lastError).toMatch(/accountDoesNotExist/);
    const event = await harness.prisma.provisioningEvent.findFirstOrThrow({ where: { serverId, step: REVOKE_STEP } });
    expect(event).toMatchObject({ status: 'failed', willRetry: false, errorType: 'acme_rejected' });
    expect(event.detail).toMatchObject({ certificateId: certificate.id, directoryUrl: 'https://localhost:14000/dir' });
    // Secrets went first and all of them: the certificate key, the admin password, the user's password.
    const secrets = await harness.prisma.encryptedSecret.findMany({ where: { purpose: { not: 'acme_account_key' } } });
    expect(secrets.length).toBeGreaterThan(0);
    expect(secrets.filter((s) => s.destroyedAt === null)).toEqual([]);
    expect(await containerState(serverId)).toBeUndefined();
  });

  it('re-queues a deletion that failed for good once it has been stuck long enough', async () => {
    const { serverId: stuckId } = await harness.placeOrder();
    await harness.prisma.server.update({ where: { id: stuckId }, data: { desiredState: 'deleted' } });
    // A deletion job that fails for good under the deterministic id (its payload is refused).
    const failing = await (await queue()).add(DEPROVISION_JOB, { serverId: 'not-a-uuid' }, { jobId: deprovisionJobId(stuckId), attempts: 1 });
    await until('the deletion failed', async () => (await failing.getState()) === 'failed');
    expect((await harness.prisma.server.findUniqueOrThrow({ where: { id: stuckId } })).state).toBe('ordered');

    await new Promise((r) => setTimeout(r, harness.config.deadlines.stuckAfterMs + 200));
    await (await queue()).add(RECONCILE_JOB, {});
    await harness.waitForState(stuckId, 'deleted', 30_000);
  });

  it('bounds each call to the outside: a DNS provider, the Docker API and a CA that never answer', async () => {
    const silent = await SilentServer.listen();
    const socketDir = mkdtempSync(join(tmpdir(), 'parley-silent-'));
    const silentDocker = await SilentServer.listen(join(socketDir, 'docker.sock'));
    try {
      const adapters = createAdapters({
        ...harness.config,
        dns: { kind: 'powerdns', apiUrl: `http://127.0.0.1:${silent.port}`, apiKey: 'unused', serverId: 'localhost' },
        docker: { ...harness.config.docker, socketPath: join(socketDir, 'docker.sock') },
        timeouts: { ...harness.config.timeouts, dnsApiMs: 300, dockerApiMs: 300, acmeHttpMs: 300 },
      });
      const bounded = async (what: string, call: Promise<unknown>) => {
        const started = Date.now();
        await expect(call, what).rejects.toThrow();
        expect(Date.now() - started, what).toBeLessThan(5_000);
      };
      await bounded('PowerDNS', adapters.dns.ping());
      await bounded('Docker', adapters.containers.ping());
      const key = await adapters.ca.createAccountKey();
      const chain = (await harness.prisma.certificate.findFirstOrThrow({ where: { chainPem: { not: null } } })).chainPem ?? '';
      await bounded('ACME', adapters.ca.revoke(chain, key, `https://127.0.0.1:${silent.port}/dir`));
    } finally {
      await silent.close();
      await silentDocker.close();
    }
  });
});
