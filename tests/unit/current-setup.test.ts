import { describe, expect, it } from 'vitest';
import { currentSetup } from '../../web/src/server/provisioning-steps.js';
import { isBeingDeleted } from '../../web/src/servers/server-queries.js';

const steps = (...names: string[]) => names.map((step, i) => ({ id: String(i + 1), step }));

describe('the setup steps a server page shows', () => {
  it('are every event of a server never deleted', () => {
    const events = steps('allocate', 'dns', 'stop', 'incident');
    expect(currentSetup(events)).toEqual(events);
  });

  it('are only those after the deletion of a server brought back', () => {
    const events = steps('allocate', 'probe', 'backup', 'deprovision', 'deprovision', 'allocate', 'dns');
    expect(currentSetup(events).map((e) => e.id)).toEqual(['6', '7']);
    expect(currentSetup(steps('allocate', 'deprovision'))).toEqual([]);
  });
});

describe('a server being deleted', () => {
  it('is one its owner deleted that the worker has not removed yet', () => {
    expect(isBeingDeleted({ state: 'ready', desiredState: 'deleted' })).toBe(true);
    expect(isBeingDeleted({ state: 'deprovisioning', desiredState: 'deleted' })).toBe(true);
    expect(isBeingDeleted({ state: 'deleted', desiredState: 'deleted' })).toBe(false);
    expect(isBeingDeleted({ state: 'ready', desiredState: 'running' })).toBe(false);
  });
});
