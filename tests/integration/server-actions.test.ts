import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { xml } from '@xmpp/client';
import { enqueueAdminReset, enqueueServerAction, enqueueServerConfig } from '../../worker/src/contracts/provisioning-flow.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { pebbleIssuers } from '../support/pebble.js';
import { connectAs, type XmppSession } from '../support/xmpp.js';
import { expectEvery } from '../support/expect-every.js';

describe('server actions and admin password reset', () => {
  let harness: ProvisioningHarness;
  let serverId: string;
  let domain: string;
  let c2sPort: number;
  let root: string;

  const queue = async () => (await harness.startWorker()).queue;
  /** As the API does: the request's desired state on the row first, then the job. */
  const request = async (action: 'stop' | 'start' | 'restart') => {
    await harness.prisma.server.update({ where: { id: serverId }, data: { desiredState: action === 'stop' ? 'stopped' : 'running' } });
    await enqueueServerAction(await queue(), serverId, action, randomUUID());
  };
  const loginAs = async (password: string) => {
    const session = await connectAs({ host: '127.0.0.1', port: c2sPort, domain, username: 'admin', password, trustedCaPems: [root], timeoutMs: 10_000 });
    await session.close();
  };
  const waitForEvent = async (step: string, count: number) => {
    const deadline = Date.now() + 60_000;
    while ((await harness.prisma.provisioningEvent.count({ where: { serverId, step, status: 'succeeded' } })) < count) {
      if (Date.now() > deadline) throw new Error(`no ${step} success within 60 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(35_000);
    ({ serverId, domain } = await harness.placeOrder());
    await harness.provision(serverId);
    await harness.waitForState(serverId, 'ready');
    c2sPort = (await harness.prisma.portAllocation.findFirstOrThrow({ where: { serverId, purpose: 'c2s' } })).port;
    root = (await pebbleIssuers()).root.toString();
  });

  afterAll(async () => {
    await harness.deprovision(serverId);
    await harness.waitForState(serverId, 'deleted', 60_000);
    await harness.close();
  });

  it('stops, starts and restarts the server, which answers again each time it runs', async () => {
    const { password } = await harness.adminPassword(serverId);
    await request('stop');
    await harness.waitForState(serverId, 'stopped');
    await expect(loginAs(password)).rejects.toThrow();

    await request('start');
    await harness.waitForState(serverId, 'ready');
    await loginAs(password);

    await request('restart');
    await waitForEvent('restart', 1);
    await harness.waitForState(serverId, 'ready');
    await loginAs(password);
  });

  it('resets the admin password once per issuance; the old one stops working', async () => {
    const before = await harness.adminPassword(serverId);
    await enqueueAdminReset(await queue(), serverId, 2);
    await enqueueAdminReset(await queue(), serverId, 2);
    await waitForEvent('admin_reset', 1);

    const after = await harness.adminPassword(serverId);
    expect(after.password).not.toBe(before.password);
    await loginAs(after.password);
    await expect(loginAs(before.password)).rejects.toThrow();
    const credentials = await harness.prisma.serverCredential.findMany({ where: { serverId }, include: { secret: true }, orderBy: { issuance: 'asc' } });
    expect(credentials.map((c) => c.issuance)).toEqual([1, 2]);
    expectEvery(credentials, (c) => c.appliedAt !== null, 'both were set in Prosody, so both could be revealed');
    expect(credentials[0]?.secret.destroyedAt).not.toBeNull();
    expect(credentials[0]?.secret.ciphertext.length).toBe(0);
  });

  it('publishes the contact addresses the owner sets (XEP-0157), applied with a reload, nobody disconnected', async () => {
    const { password } = await harness.adminPassword(serverId);
    const session = await connectAs({ host: '127.0.0.1', port: c2sPort, domain, username: 'admin', password, trustedCaPems: [root], timeoutMs: 10_000 });
    try {
      expect(await contactAddresses(session, domain)).toEqual({ 'abuse-addresses': [`xmpp:admin@${domain}`], 'admin-addresses': [`xmpp:admin@${domain}`] });
      // As PUT /servers/{id}/contacts writes it.
      await harness.prisma.server.update({ where: { id: serverId }, data: { contactAddresses: { abuse: ['mailto:abuse@example.com'], support: ['https://example.com/help'], security: [] }, contactsRevision: 1 } });
      await enqueueServerConfig(await queue(), { serverId, revision: 1 });
      await waitForEvent('reconfigure', 1);
      expect(await contactAddresses(session, domain)).toEqual({
        'abuse-addresses': ['mailto:abuse@example.com'],
        'admin-addresses': [`xmpp:admin@${domain}`],
        'support-addresses': ['https://example.com/help'],
      });
    } finally {
      await session.close();
    }
  });
});

/** The XEP-0157 fields with addresses in the server's disco#info (its http://jabber.org/network/serverinfo form). */
async function contactAddresses(session: XmppSession, domain: string): Promise<Record<string, string[]>> {
  const answer = await session.xmpp.iqCaller.request(xml('iq', { type: 'get', to: domain }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })), 10_000);
  const form = answer
    .getChild('query', 'http://jabber.org/protocol/disco#info')
    ?.getChildren('x', 'jabber:x:data')
    .find((x) => x.getChildren('field').some((f) => f.attrs.var === 'FORM_TYPE' && f.getChildText('value') === 'http://jabber.org/network/serverinfo'));
  const fields = (form?.getChildren('field') ?? []).filter((f) => f.attrs.var !== 'FORM_TYPE' && f.getChildren('value').length > 0);
  return Object.fromEntries(fields.map((f) => [f.attrs.var ?? '', f.getChildren('value').map((v) => v.getText())]));
}
