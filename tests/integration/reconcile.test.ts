import { afterAll, beforeAll, describe, it } from 'vitest';
import { RECONCILE_JOB } from '../../worker/src/contracts/provisioning.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';

/** Nothing lost: an order or a deletion the API saved but never queued still happens. */
describe('the reconciler', () => {
  let harness: ProvisioningHarness;

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(36_000);
  });

  afterAll(async () => {
    await harness.close();
  });

  it('queues an order that never reached the queue, and a deletion likewise', async () => {
    const { queue } = await harness.startWorker();
    const { serverId } = await harness.placeOrder();
    await queue.add(RECONCILE_JOB, {});
    await harness.waitForState(serverId, 'ready');

    await harness.prisma.server.update({ where: { id: serverId }, data: { desiredState: 'deleted' } });
    await queue.add(RECONCILE_JOB, {});
    await harness.waitForState(serverId, 'deleted', 60_000);
  });
});
