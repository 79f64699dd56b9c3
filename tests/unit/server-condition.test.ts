import { describe, expect, it } from 'vitest';
import type { HealthStatus, ServerState } from '../../web/src/api/types.js';
import { serverCondition, troubleOf } from '../../web/src/servers/server-condition.js';

const server = (state: ServerState, status: HealthStatus) => ({
  state,
  health: { status, issue: null, message: null, since: null, checkedAt: null },
});

describe('what a server\'s badge says, from its state and its observed health', () => {
  it('never says Ready for a ready server Parley found down, degraded or in need of attention', () => {
    expect(serverCondition(server('ready', 'down'))).toEqual({ label: 'Down', tone: 'bad' });
    expect(serverCondition(server('ready', 'degraded'))).toEqual({ label: 'Degraded', tone: 'warn' });
    expect(serverCondition(server('ready', 'needs_attention'))).toEqual({ label: 'Needs attention', tone: 'bad' });
  });

  it('keeps "Stopped" on the badge of a stopped server in trouble, whose trouble is still told', () => {
    expect(serverCondition(server('stopped', 'degraded'))).toEqual({ label: 'Stopped', tone: 'muted' });
    expect(troubleOf(server('stopped', 'degraded'))).toBe('degraded');
  });

  it('says the state when the server is healthy or not looked at yet', () => {
    expect(serverCondition(server('ready', 'ok'))).toEqual({ label: 'Ready', tone: 'good' });
    expect(serverCondition(server('ready', 'unknown'))).toEqual({ label: 'Ready', tone: 'good' });
    expect(serverCondition(server('stopped', 'ok'))).toEqual({ label: 'Stopped', tone: 'muted' });
    expect(serverCondition(server('dns', 'unknown'))).toEqual({ label: 'Setting up', tone: 'busy' });
  });

  it('leaves health out while the server is set up or deleted, when Parley does not watch it', () => {
    for (const state of ['certificate', 'failed', 'deprovisioning', 'deleted'] as const) expect(troubleOf(server(state, 'down'))).toBeNull();
    expect(serverCondition(server('deprovisioning', 'down')).label).toBe('Deleting');
  });
});
