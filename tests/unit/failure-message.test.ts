import { describe, expect, it } from 'vitest';
import { failureMessage } from '../../worker/src/provisioning/timeline.js';

describe('a failure as the timeline shows it', () => {
  it('says a retried attempt will be retried, and which of how many it was', () => {
    expect(failureMessage('DNS is down', { attempt: 3, attempts: 20 })).toBe('DNS is down (will retry; attempt 3 of 20)');
  });

  it('is the bare reason on the last attempt, for a permanent failure, and without a retry count', () => {
    expect(failureMessage('DNS is down', { attempt: 20, attempts: 20 })).toBe('DNS is down');
    expect(failureMessage('bad domain', { attempt: 1, attempts: 20 }, true)).toBe('bad domain');
    expect(failureMessage('DNS is down', {})).toBe('DNS is down');
  });
});
