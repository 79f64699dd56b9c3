import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SWEEP_JOB } from '../../worker/src/contracts/provisioning.js';
import { SWEEP_INTERVAL_MS, sweepExpired } from '../../worker/src/housekeeping/sweep.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { until } from '../support/until.js';

describe('sweeping what can no longer be used', () => {
  let harness: ProvisioningHarness;

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(39_500);
  });

  afterAll(async () => {
    await harness.close();
  });

  it('deletes expired sessions and keeps live ones', async () => {
    const plan = await harness.prisma.plan.findUniqueOrThrow({ where: { code: 'personal' } });
    const account = await harness.prisma.account.create({ data: { email: `s${randomBytes(4).toString('hex')}@example.test`, passwordHash: 'unused', planId: plan.id } });
    const session = (expiresAt: Date) =>
      harness.prisma.session.create({ data: { accountId: account.id, tokenHash: randomBytes(32).toString('hex'), csrfSecretHash: randomBytes(32).toString('hex'), expiresAt } });
    const now = new Date();
    const [expired, live] = [await session(new Date(now.getTime() - 1_000)), await session(new Date(now.getTime() + 3_600_000))];

    expect(await sweepExpired(harness.prisma, now)).toEqual({ sessions: 1, accountTokens: 0, recoveryCodes: 0 });
    const left = await harness.prisma.session.findMany({ where: { accountId: account.id }, select: { id: true } });
    expect(left.map((s) => s.id)).toEqual([live.id]);
    expect(left.map((s) => s.id)).not.toContain(expired.id);
  });

  it('deletes account tokens once spent or expired, and spent recovery codes; keeps the ones still good', async () => {
    const plan = await harness.prisma.plan.findUniqueOrThrow({ where: { code: 'personal' } });
    const account = await harness.prisma.account.create({ data: { email: `t${randomBytes(4).toString('hex')}@example.test`, passwordHash: 'unused', planId: plan.id } });
    const now = new Date();
    const [past, future] = [new Date(now.getTime() - 1_000), new Date(now.getTime() + 3_600_000)];
    const token = (purpose: 'email_verification' | 'password_reset' | 'login_challenge', expiresAt: Date, usedAt: Date | null = null) =>
      harness.prisma.accountToken.create({ data: { accountId: account.id, purpose, tokenHash: randomBytes(32).toString('hex'), expiresAt, usedAt } });
    const code = (usedAt: Date | null) => harness.prisma.recoveryCode.create({ data: { accountId: account.id, codeHash: randomBytes(32).toString('hex'), usedAt } });
    const liveToken = await token('password_reset', future);
    await token('email_verification', past);
    await token('login_challenge', future, past);
    const liveCode = await code(null);
    await code(past);

    expect(await sweepExpired(harness.prisma, now)).toEqual({ sessions: 0, accountTokens: 2, recoveryCodes: 1 });
    expect((await harness.prisma.accountToken.findMany({ where: { accountId: account.id } })).map((t) => t.id)).toEqual([liveToken.id]);
    expect((await harness.prisma.recoveryCode.findMany({ where: { accountId: account.id } })).map((c) => c.id)).toEqual([liveCode.id]);
  });

  it('runs hourly on the worker\'s queue, the first time as the worker starts', async () => {
    const { queue } = await harness.startWorker();
    const schedulers = await queue.getJobSchedulers();
    expect(schedulers.find((s) => s.key === SWEEP_JOB)).toMatchObject({ every: SWEEP_INTERVAL_MS });
    const swept = await until('the first scheduled sweep completes', async () => (await queue.getCompleted()).find((j) => j.name === SWEEP_JOB)?.returnvalue as unknown, 30_000);
    const report = JSON.parse(String(swept)) as Record<string, unknown>;
    expect(Object.entries(report).map(([kind, count]) => [kind, typeof count])).toEqual([
      ['sessions', 'number'],
      ['accountTokens', 'number'],
      ['recoveryCodes', 'number'],
    ]);
  });
});
