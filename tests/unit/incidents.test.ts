import { describe, expect, it } from 'vitest';
import type { Incident } from '../../web/src/api/types.js';
import { formatDuration, incidentDuration, incidentTitle, repairWords, splitIncidents } from '../../web/src/server/incidents.js';

const incident = (fields: Partial<Incident>): Incident => ({
  id: crypto.randomUUID(),
  kind: 'container_stopped',
  status: 'open',
  openedAt: '2025-01-01T10:00:00.000Z',
  resolvedAt: null,
  repairAttempts: 0,
  lastError: null,
  ...fields,
});

describe('incidents as the overview shows them', () => {
  it('splits what goes on from what was resolved, keeping the API\'s newest-first order', () => {
    const list = [incident({ status: 'needs_attention' }), incident({ status: 'resolved', kind: 'a' }), incident({}), incident({ status: 'resolved', kind: 'b' })];
    const { current, resolved } = splitIncidents(list);
    expect(current.map((i) => i.status)).toEqual(['needs_attention', 'open']);
    expect(resolved.map((i) => i.kind)).toEqual(['a', 'b']);
  });

  it('says how long an incident lasted, or has lasted so far', () => {
    const now = new Date('2025-01-01T10:05:00.000Z').getTime();
    expect(incidentDuration(incident({ resolvedAt: '2025-01-01T10:00:01.234Z' }), now)).toBe(1_234);
    expect(incidentDuration(incident({}), now)).toBe(300_000);
  });

  it('writes durations people read at a glance', () => {
    expect(formatDuration(1_234)).toBe('1.2 s');
    expect(formatDuration(800)).toBe('0.8 s');
    expect(formatDuration(42_400)).toBe('42 s');
    expect(formatDuration(185_000)).toBe('3 min 5 s');
    expect(formatDuration(120_000)).toBe('2 min');
    expect(formatDuration(7_440_000)).toBe('2 h 4 min');
    expect(formatDuration(-5)).toBe('0.0 s');
  });

  it('names each finding in plain words, and one it does not know generically', () => {
    expect(incidentTitle('container_stopped')).toBe('Server stopped unexpectedly');
    expect(incidentTitle('dns_record_missing')).toBe('DNS record missing or changed');
    expect(incidentTitle('something_new')).toBe('A problem with your server');
  });

  it('says what Parley is doing: repairing, retrying after a failure, or waiting for the customer', () => {
    expect(repairWords({ status: 'open', repairAttempts: 0, lastError: null })).toBe('Parley is repairing it now.');
    expect(repairWords({ status: 'open', repairAttempts: 2, lastError: 'Docker timed out.' })).toBe(
      'Parley is repairing it: 2 repair attempts so far, the last failed (Docker timed out); it tries again shortly.',
    );
    expect(repairWords({ status: 'open', repairAttempts: 1, lastError: null })).toMatch(/1 repair attempt so far; checking/);
    const attention = repairWords({ status: 'needs_attention', repairAttempts: 5, lastError: 'port in use' });
    expect(attention).toMatch(/stopped retrying after 5 repair attempts \(the last failed: port in use\)/);
    expect(attention).toMatch(/Restart the server in Manage/);
  });
});
