import { describe, expect, it } from 'vitest';
import { failedRenewal, nextRenewalAttempt, renewalBackoffMs, renewalRetryDelayMs } from '../../worker/src/provisioning/renewal-backoff.js';
import { retryDelayMs } from '../../worker/src/jobs/retry-delay.js';
import { AcmeBudgetExhaustedError } from '../../worker/src/provisioning/acme-budget.js';
import { AcmeError } from '../../worker/src/adapters/acme.certificate-authority.js';

const HOUR = 3_600_000;

describe('per-certificate renewal backoff', () => {
  it('waits hours: 1 h after the first failure, doubling, capped at a day', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 30].map(renewalBackoffMs)).toEqual([1, 2, 4, 8, 16, 24, 24, 24].map((h) => h * HOUR));
  });

  it('counts from the last attempt', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    expect(nextRenewalAttempt(at, 3).toISOString()).toBe('2026-01-01T04:00:00.000Z');
  });

  it('a failure that BullMQ retries only records the attempt; the last one counts and sets the next scan', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const failure = { reason: 'the CA is down', errorType: 'unknown', willRetry: true, blockedReason: null };
    expect(failedRenewal(failure, 2, now)).toEqual({ lastError: 'the CA is down', lastErrorType: 'unknown', lastAttemptAt: now });
    expect(failedRenewal({ ...failure, willRetry: false }, 2, now)).toEqual({
      lastError: 'the CA is down',
      lastErrorType: 'unknown',
      lastAttemptAt: now,
      failureCount: 3,
      nextAttemptAt: new Date('2026-01-01T04:00:00Z'),
      blockedReason: null,
    });
    const blocked = { ...failure, errorType: 'acme_challenge_cname_missing', willRetry: false, blockedReason: '_acme-challenge.a.example CNAME x.acme.parley.test.' };
    expect(failedRenewal(blocked, 0, now)).toMatchObject({ failureCount: 1, nextAttemptAt: new Date('2026-01-01T01:00:00Z'), blockedReason: blocked.blockedReason });
  });
});

describe('how long a failed job waits before its retry', () => {
  it('renewal jobs wait minutes, other jobs the steps\' short backoff', () => {
    expect([1, 2].map(renewalRetryDelayMs)).toEqual([60_000, 120_000]);
    expect(retryDelayMs(1, 'renewal', new Error('x'))).toBe(60_000);
    expect(retryDelayMs(1, 'capped-exponential', new Error('x'))).toBe(500);
  });

  it('an order over the budget waits until the window frees a slot, or as long as the CA asked', () => {
    const retryAt = new Date(Date.now() + 2 * HOUR);
    const waited = retryDelayMs(1, 'renewal', new Error('issuing failed', { cause: new AcmeBudgetExhaustedError('platform', 250, retryAt) }));
    expect(waited).toBeGreaterThan(2 * HOUR - 5_000);
    expect(waited).toBeLessThanOrEqual(2 * HOUR);
    const limited = new AcmeError('too many', [{ type: 'urn:ietf:params:acme:error:rateLimited', detail: 'slow down' }], 600_000);
    expect(retryDelayMs(1, 'capped-exponential', limited)).toBe(600_000);
  });
});
