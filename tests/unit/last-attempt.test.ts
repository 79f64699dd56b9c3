import { describe, expect, it } from 'vitest';
import type { ServerEvent } from '../../web/src/api/types.js';
import { failureNotice, lastAttempt } from '../../web/src/server/last-attempt.js';

let nextId = 1;
const event = (step: string, status: ServerEvent['status'], message = `${step} ${status}`): ServerEvent => ({
  id: String(nextId++),
  step,
  status,
  message,
  attempt: 1,
  maxAttempts: 20,
  willRetry: status === 'failed' ? true : null,
  errorType: status === 'failed' ? 'unknown' : null,
  downtimeMs: null,
  at: '2025-01-01T00:00:00.000Z',
});

describe('the last attempt at a server action, as the Power section reports it', () => {
  it('is the newest failure or success of that action, other steps passed over', () => {
    const events = [event('stop', 'failed', 'first'), event('stop', 'failed', 'second'), event('admin_reset', 'succeeded'), event('start', 'failed')];
    expect(lastAttempt(events, 'stop')?.message).toBe('second');
    expect(lastAttempt([...events, event('stop', 'succeeded')], 'stop')?.status).toBe('succeeded');
  });

  it('keeps the failure while the next attempt runs', () => {
    const events = [event('stop', 'started'), event('stop', 'failed', 'no container'), event('stop', 'started'), event('stop', 'info')];
    expect(lastAttempt(events, 'stop')?.message).toBe('no container');
  });

  it('is nothing before an attempt at that action has finished', () => {
    expect(lastAttempt([], 'start')).toBeUndefined();
    expect(lastAttempt([event('start', 'started'), event('restart', 'failed')], 'start')).toBeUndefined();
  });

  it('says a failure will be retried, and which attempt it was, from the fields, until the last one', () => {
    const retried = { message: 'server x has no container', attempt: 3, maxAttempts: 20, willRetry: true };
    expect(failureNotice(retried)).toBe(
      'Attempt 3 of 20 failed: server x has no container. Parley keeps trying for a few minutes; this page says so once it works.',
    );
    const last = { message: 'server x has no container.', attempt: 20, maxAttempts: 20, willRetry: false };
    expect(failureNotice(last)).toBe(
      'The last attempt failed: server x has no container. Parley has stopped trying; try again later, or contact support if it keeps failing.',
    );
  });

  it('never reads the retry from the message', () => {
    const worded = { message: 'DNS is down (will retry; attempt 3 of 20)', attempt: 20, maxAttempts: 20, willRetry: false };
    expect(failureNotice(worded)).toMatch(/^The last attempt failed: DNS is down \(will retry; attempt 3 of 20\)\. Parley has stopped trying/);
    expect(failureNotice({ message: 'DNS is down', attempt: 2, maxAttempts: null, willRetry: true })).toMatch(/^Attempt 2 failed: DNS is down\./);
  });
});
