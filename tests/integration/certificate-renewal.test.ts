import { connect } from 'node:tls';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_SERVER } from '../../worker/src/adapters/docker.container-runtime.js';
import { RENEWAL_SCAN_JOB } from '../../worker/src/contracts/provisioning.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { pebbleIssuers } from '../support/pebble.js';
import { testEnv } from '../support/test-env.js';
import { until } from '../support/until.js';

/** The serial of the certificate a server presents on its direct-TLS port (XEP-0368). */
function presentedSerial(port: number, domain: string, root: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: domain, ca: [root], ALPNProtocols: ['xmpp-client'], timeout: 5_000 }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.destroy();
      resolve(serial.toUpperCase());
    });
    socket.once('error', reject);
    socket.once('timeout', () => socket.destroy(new Error('TLS handshake timed out')));
  });
}

// A renewal, then a failed one whose retries run on after the test: in order, so the first reads a settled certificate.
describe('certificate renewal', { shuffle: false }, () => {
  let harness: ProvisioningHarness;
  let serverId: string;
  let domain: string;
  let directTlsPort: number;
  let root: string;

  const activeCertificate = () => harness.prisma.certificate.findFirstOrThrow({ where: { serverId, status: 'active' } });
  const scan = async () => (await harness.startWorker()).queue.add(RENEWAL_SCAN_JOB, {});

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(33_000);
    ({ serverId, domain } = await harness.placeOrder());
    await harness.provision(serverId);
    await harness.waitForState(serverId, 'ready');
    directTlsPort = (await harness.prisma.portAllocation.findFirstOrThrow({ where: { serverId, purpose: 'c2s_direct_tls' } })).port;
    root = (await pebbleIssuers()).root.toString();
  });

  afterAll(async () => {
    await harness.deprovision(serverId);
    await harness.waitForState(serverId, 'deleted', 60_000);
    await harness.close();
  });

  it('renews a certificate past its renewal time and the running server presents the new one', async () => {
    const before = await activeCertificate();
    expect(before.renewAfter!.getTime()).toBeLessThan(before.notAfter!.getTime());
    expect(await presentedSerial(directTlsPort, domain, root)).toBe(before.serial?.toUpperCase());

    await harness.prisma.certificate.update({ where: { id: before.id }, data: { renewAfter: new Date(Date.now() - 1_000) } });
    await scan();
    const after = await until('a new active certificate', async () => {
      const current = await activeCertificate();
      return current.id !== before.id ? current : undefined;
    });
    expect(after.renewAfter!.getTime()).toBeGreaterThan(Date.now());
    expect((await harness.prisma.certificate.findUniqueOrThrow({ where: { id: before.id } })).status).toBe('superseded');
    await until('the new certificate being served', async () =>
      (await presentedSerial(directTlsPort, domain, root)) === after.serial?.toUpperCase() ? true : undefined,
    );
    const renewed = await until('the renewal on the timeline', () =>
      harness.prisma.provisioningEvent.findFirst({ where: { serverId, step: 'renew', status: 'succeeded' } }).then((e) => e ?? undefined),
    );
    expect(renewed.message).toContain('installed and reloaded');
  });

  it('a renewal that fails is recorded on the certificate and the timeline', async () => {
    // Paused, Prosody cannot reload; a stopped one would be restarted by self-healing first.
    const docker = new Docker({ socketPath: testEnv().DOCKER_SOCKET });
    const [listed] = await docker.listContainers({ filters: { label: [`${LABEL_SERVER}=${serverId}`] } });
    const container = docker.getContainer(listed!.Id);
    await container.pause();
    const due = await activeCertificate();
    await harness.prisma.certificate.update({ where: { id: due.id }, data: { renewAfter: new Date(Date.now() - 1_000) } });
    await scan();

    const failed = await until('a failed renewal event', () =>
      harness.prisma.provisioningEvent.findFirst({ where: { serverId, step: 'renew', status: 'failed' } }).then((e) => e ?? undefined),
    );
    expect(failed.message).toMatch(/^Certificate renewal failed: /);
    expect(failed).toMatchObject({ attempt: 1, maxAttempts: 3, willRetry: true });
    expect(failed.errorType).toBeTruthy();
    const current = await activeCertificate();
    expect(current.lastError).toBeTruthy();
    expect(current.lastAttemptAt).not.toBeNull();
    await container.unpause();
  });
});
