import { UnrecoverableError } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { seedPlans } from '../../prisma/seed.js';
import { trackedStep, type StepFailure } from '../../worker/src/jobs/tracked-step.js';
import { ForeignObjectError } from '../../worker/src/ports/container-runtime.js';
import { Timeline } from '../../worker/src/provisioning/timeline.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

describe('a tracked step, as the timeline records it', () => {
  let db: TestDatabase;
  let timeline: Timeline;
  let serverId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    await seedPlans(db.prisma);
    const plan = await db.prisma.plan.findUniqueOrThrow({ where: { code: 'personal' } });
    const account = await db.prisma.account.create({ data: { email: 'tracked@example.test', passwordHash: 'not-used', planId: plan.id } });
    const server = await db.prisma.server.create({
      data: { accountId: account.id, name: 'tracked', domain: 'tracked.example.test', domainKind: 'platform', federation: true, planId: plan.id },
    });
    serverId = server.id;
    timeline = new Timeline(db.prisma);
  });

  afterAll(async () => {
    await db?.drop();
  });

  const eventsOf = (step: string) =>
    db.prisma.provisioningEvent.findMany({
      where: { serverId, step },
      orderBy: { id: 'asc' },
      select: { status: true, message: true, attempt: true, maxAttempts: true, willRetry: true, errorType: true, jobId: true },
    });

  it('records started and succeeded with the attempt and the job', async () => {
    const context = { attempt: 2, maxAttempts: 20, jobId: 'job-1' };
    const onSuccess = vi.fn(() => Promise.resolve());
    const result = await trackedStep({ timeline, serverId, step: 'ok', title: 'Do it', context, onSuccess }, () => Promise.resolve('Done'));
    expect(result).toBe('Done');
    expect(onSuccess).toHaveBeenCalledOnce();
    expect(await eventsOf('ok')).toEqual([
      { status: 'started', message: 'Do it', attempt: 2, maxAttempts: 20, willRetry: null, errorType: null, jobId: 'job-1' },
      { status: 'succeeded', message: 'Done', attempt: 2, maxAttempts: 20, willRetry: null, errorType: null, jobId: 'job-1' },
    ]);
  });

  it('a failure before the last attempt: the plain reason, will retry, the error rethrown for BullMQ to retry', async () => {
    const failures: StepFailure[] = [];
    const error = new Error('DNS is down');
    const run = trackedStep(
      {
        timeline,
        serverId,
        step: 'transient',
        title: 'Try',
        context: { attempt: 1, maxAttempts: 3 },
        failureText: (reason) => `It failed: ${reason}`,
        onFailure: async (failure) => {
          // The hook runs first: the timeline's failure finds the row already updated.
          expect(await eventsOf('transient')).toHaveLength(1);
          failures.push(failure);
        },
      },
      () => Promise.reject(error),
    );
    await expect(run).rejects.toBe(error);
    expect(failures).toEqual([{ reason: 'DNS is down', errorType: 'unknown', permanent: false, willRetry: true }]);
    expect((await eventsOf('transient')).at(-1)).toEqual({
      status: 'failed',
      message: 'It failed: DNS is down',
      attempt: 1,
      maxAttempts: 3,
      willRetry: true,
      errorType: 'unknown',
      jobId: null,
    });
  });

  it('the last attempt: will not retry', async () => {
    await expect(trackedStep({ timeline, serverId, step: 'last', context: { attempt: 3, maxAttempts: 3 } }, () => Promise.reject(new Error('still down')))).rejects.toThrow(
      'still down',
    );
    expect(await eventsOf('last')).toEqual([expect.objectContaining({ status: 'failed', message: 'still down', willRetry: false, errorType: 'unknown' })]);
  });

  it('a failure retrying cannot fix (another container holds the name) fails at once, as UnrecoverableError', async () => {
    const run = trackedStep({ timeline, serverId, step: 'foreign', title: 'Start', context: { attempt: 1, maxAttempts: 20 } }, () =>
      Promise.reject(new ForeignObjectError('container parley-x exists but is not labelled as Parley’s')),
    );
    await expect(run).rejects.toBeInstanceOf(UnrecoverableError);
    expect((await eventsOf('foreign')).at(-1)).toMatchObject({ status: 'failed', attempt: 1, maxAttempts: 20, willRetry: false, errorType: 'foreign_object' });
  });
});
