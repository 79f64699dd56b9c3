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

  it('says a failure will be retried, and which attempt it was, until the last one', () => {
    expect(failureNotice('server x has no container (will retry; attempt 3 of 20)')).toBe(
      'Attempt 3 of 20 failed: server x has no container. Parley keeps trying for a few minutes; this page says so once it works.',
    );
    expect(failureNotice('server x has no container.')).toBe(
      'The last attempt failed: server x has no container. Parley has stopped trying; try again later, or contact support if it keeps failing.',
    );
  });
});
