import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PowerDnsProvider } from '../../worker/src/adapters/powerdns.dns-provider.js';
import { RENEWAL_SCAN_JOB, renewJobId } from '../../worker/src/contracts/provisioning.js';
import type { DnsRecord } from '../../worker/src/ports/dns-provider.js';
import { certificateNames } from '../../worker/src/provisioning/dns-plan.js';
import { challengeCnames, pdnsZone, tearDownCustomerDomain } from '../support/customer-zone.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { testEnv } from '../support/test-env.js';
import { until } from '../support/until.js';

// A server on a customer's own domain, renewed against the real Pebble, PowerDNS and Postgres:
// what the renewal does when the customer's delegation is gone, and when the order budget is spent.
// One certificate's renewals and the CA budget they spend, in order: each test starts from the counters the one before left.
describe('certificates cannot exhaust the CA', { shuffle: false }, () => {
  const env = testEnv();
  const customerZone = `c${randomBytes(5).toString('hex')}.example`;
  const customer = new PowerDnsProvider({ apiUrl: env.PDNS_API_URL, apiKey: env.PDNS_API_KEY, serverId: 'localhost', zone: customerZone });
  let harness: ProvisioningHarness;
  let serverId: string;
  let accountId: string;
  let delegations: DnsRecord[];

  const activeCertificate = () => harness.prisma.certificate.findFirstOrThrow({ where: { serverId, status: 'active' } });
  const certificates = () => harness.prisma.certificate.count({ where: { serverId } });
  const ordersForServer = () => harness.prisma.acmeOrder.count({ where: { serverId } });

  /** Makes the active certificate due, as if its renewal time and any backoff had passed. */
  async function makeDue(): Promise<string> {
    const { id } = await activeCertificate();
    await harness.prisma.certificate.update({ where: { id }, data: { renewAfter: new Date(Date.now() - 1_000), nextAttemptAt: null } });
    return id;
  }

  /** Makes the certificate due, scans, and returns the renewal's failure on the timeline. */
  async function failingRenewal() {
    const mark = (await harness.prisma.provisioningEvent.findFirst({ where: { serverId }, orderBy: { id: 'desc' } }))?.id ?? 0n;
    const certificateId = await makeDue();
    expect(await scan()).toBe('1 certificate(s) due for renewal');
    const failed = await until('a failed renewal on the timeline', () =>
      harness.prisma.provisioningEvent.findFirst({ where: { serverId, step: 'renew', status: 'failed', id: { gt: mark } }, orderBy: { id: 'asc' } }),
    );
    return { certificateId, failed };
  }

  /** Runs one renewal scan through the queue and returns what it reported. */
  async function scan(): Promise<string> {
    const { queue } = await harness.startWorker();
    const job = await queue.add(RENEWAL_SCAN_JOB, {});
    return until('the renewal scan', async () => {
      const done = await queue.getJob(job.id ?? '');
      return (await done?.getState()) === 'completed' ? String(done?.returnvalue) : undefined;
    });
  }

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(44_000);
    await pdnsZone('POST', customerZone);
    const order = await harness.placeCustomDomainOrder(customerZone);
    serverId = order.serverId;
    accountId = (await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId } })).accountId;
    delegations = challengeCnames(order.domainId, customerZone);
    await customer.addRecords(customerZone, delegations);
    await harness.provision(serverId);
    await harness.waitForState(serverId, 'ready', 120_000);
  });

  afterAll(() => tearDownCustomerDomain(harness, serverId, customerZone));

  it('records the first issuance as one ACME order, for the server and its customer', async () => {
    const orders = await harness.prisma.acmeOrder.findMany({ where: { serverId } });
    expect(orders).toHaveLength(1);
    expect(orders[0]).toMatchObject({ accountId, acmeAccountId: (await activeCertificate()).acmeAccountId });
    expect(orders[0]?.names.sort()).toEqual(certificateNames(customerZone).sort());
  });

  it('a new order on a customer domain without its _acme-challenge CNAMEs fails at once with the fix, and orders nothing', async () => {
    const zone = `n${randomBytes(5).toString('hex')}.example`;
    const other = await harness.placeCustomDomainOrder(zone);
    await harness.provision(other.serverId);
    await harness.waitForState(other.serverId, 'failed', 60_000);
    const server = await harness.prisma.server.findUniqueOrThrow({ where: { id: other.serverId } });
    for (const cname of challengeCnames(other.domainId, zone)) expect(server.stateReason).toContain(`${cname.name} CNAME ${cname.value}`);
    const failed = await until('the failed certificate step', () =>
      harness.prisma.provisioningEvent.findFirst({ where: { serverId: other.serverId, step: 'certificate', status: 'failed' } }),
    );
    expect(failed).toMatchObject({ errorType: 'acme_challenge_cname_missing', willRetry: false, attempt: 1 });
    expect(await harness.prisma.acmeOrder.count({ where: { serverId: other.serverId } })).toBe(0);
    await harness.deprovision(other.serverId);
    await until('the failed order deleted', async () =>
      (await harness.prisma.server.findUniqueOrThrow({ where: { id: other.serverId } })).state === 'deleted' ? true : undefined,
    );
  });

  it('blocks a renewal whose _acme-challenge CNAME was removed, with the exact fix, and creates no ACME order', async () => {
    const removed = delegations.find((d) => d.name === `_acme-challenge.conference.${customerZone}`)!;
    await customer.removeRecords(customerZone, [removed]);
    const { certificateId, failed } = await failingRenewal();
    expect(failed).toMatchObject({ errorType: 'acme_challenge_cname_missing', willRetry: false });
    expect(failed.message).toContain(`${removed.name} CNAME ${removed.value}`);

    const blocked = await activeCertificate();
    expect(blocked.id).toBe(certificateId);
    expect(blocked.blockedReason).toBe(`${removed.name} CNAME ${removed.value}`);
    expect(blocked.lastErrorType).toBe('acme_challenge_cname_missing');
    expect(blocked.failureCount).toBe(1);
    // Hours, not seconds: the first failure waits an hour from the attempt.
    expect(blocked.nextAttemptAt!.getTime() - blocked.lastAttemptAt!.getTime()).toBe(3_600_000);
    expect(await ordersForServer()).toBe(1);
    expect(await certificates()).toBe(1);
  });

  it('the scan skips a certificate in its backoff', async () => {
    const { id } = await activeCertificate();
    expect(await scan()).toBe('0 certificate(s) due for renewal');
    const { queue } = await harness.startWorker();
    expect(await queue.getJob(renewJobId(id))).toBeUndefined();
  });

  it('once the CNAME is back, the next renewal (after the backoff) proceeds and resets the counters', async () => {
    const before = await activeCertificate();
    await customer.addRecords(customerZone, delegations);
    // The hour has passed.
    await harness.prisma.certificate.update({ where: { id: before.id }, data: { nextAttemptAt: new Date(Date.now() - 1_000) } });
    expect(await scan()).toBe('1 certificate(s) due for renewal');

    const renewed = await until('a new active certificate', async () => {
      const current = await activeCertificate();
      return current.id !== before.id ? current : undefined;
    });
    expect(renewed).toMatchObject({ blockedReason: null, failureCount: 0, nextAttemptAt: null });
    expect(await ordersForServer()).toBe(2);
  });

  it('a customer over their own order limit waits (acme_budget_exhausted) and no ACME order is made', async () => {
    const { acmeAccountId } = await activeCertificate();
    const { perCustomer, windowMs } = harness.config.acme.orderLimits;
    const used = await harness.prisma.acmeOrder.count({ where: { accountId, createdAt: { gt: new Date(Date.now() - windowMs) } } });
    // Orders for the customer's other servers, made in the last minutes.
    const filler = Array.from({ length: perCustomer - used }, () => ({ acmeAccountId: acmeAccountId!, accountId, names: ['other.example'] }));
    await harness.prisma.acmeOrder.createMany({ data: filler });
    const certificateCount = await certificates();
    const { certificateId, failed } = await failingRenewal();
    expect(failed).toMatchObject({ errorType: 'acme_budget_exhausted', willRetry: true });
    const { queue } = await harness.startWorker();
    const waiting = await until('the renewal waiting for the window', () => queue.getJob(renewJobId(certificateId)));
    expect(await waiting.getState()).toBe('delayed');
    // It waits until the oldest counted order leaves the window: hours, not the steps' seconds.
    expect(waiting.delay).toBeGreaterThan(windowMs - 600_000);
    expect(await ordersForServer()).toBe(2);
    expect(await certificates()).toBe(certificateCount);

    await waiting.remove();
    await harness.prisma.acmeOrder.deleteMany({ where: { serverId: null, accountId } });
  });

  it('with ACME_ORDER_BUDGET at the orders already made, a new order waits (acme_budget_exhausted) without reaching the CA', async () => {
    const { acmeAccountId } = await activeCertificate();
    const windowMs = harness.config.acme.orderLimits.windowMs;
    const spent = await harness.prisma.acmeOrder.count({ where: { acmeAccountId: acmeAccountId!, createdAt: { gt: new Date(Date.now() - windowMs) } } });
    await harness.stopWorker();
    harness.config.acme = { ...harness.config.acme, orderLimits: { ...harness.config.acme.orderLimits, perAcmeAccount: spent } };

    const certificateCount = await certificates();
    const { certificateId, failed } = await failingRenewal();
    expect(failed).toMatchObject({ errorType: 'acme_budget_exhausted', willRetry: true });
    expect(failed.message).toContain("platform's budget");
    expect(await harness.prisma.acmeOrder.count({ where: { acmeAccountId: acmeAccountId! } })).toBe(spent);
    expect(await certificates()).toBe(certificateCount);
    expect((await activeCertificate()).id).toBe(certificateId);
  });
});
