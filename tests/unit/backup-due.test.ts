import { describe, expect, it } from 'vitest';
import { nextBackupDue } from '../../worker/src/contracts/backup-due.js';

const readyAt = new Date('2026-11-01T00:00:00.000Z');
const at = (iso: string) => new Date(iso);

describe('when a server is next due for its scheduled backup', () => {
  it('a new server: one interval after it became ready', () => {
    expect(nextBackupDue({ readyAt, intervalMinutes: 360, latest: undefined })).toEqual(at('2026-11-01T06:00:00.000Z'));
  });

  it('after a backup that succeeded (or was since forgotten): one interval after it was asked for', () => {
    for (const status of ['succeeded', 'forgotten']) {
      expect(nextBackupDue({ readyAt, intervalMinutes: 1440, latest: { status, requestedAt: at('2026-11-20T10:00:00.000Z'), finishedAt: at('2026-11-20T10:00:05.000Z') } })).toEqual(
        at('2026-11-21T10:00:00.000Z'),
      );
    }
  });

  it('never while one is queued or running', () => {
    for (const status of ['queued', 'running']) expect(nextBackupDue({ readyAt, intervalMinutes: 60, latest: { status, requestedAt: readyAt, finishedAt: null } })).toBeNull();
  });

  it('after a failure: within the hour, or sooner on a plan backing up more often', () => {
    const failed = { status: 'failed', requestedAt: at('2026-11-20T10:00:00.000Z'), finishedAt: at('2026-11-20T10:08:00.000Z') };
    expect(nextBackupDue({ readyAt, intervalMinutes: 1440, latest: failed })).toEqual(at('2026-11-20T11:08:00.000Z'));
    expect(nextBackupDue({ readyAt, intervalMinutes: 30, latest: failed })).toEqual(at('2026-11-20T10:38:00.000Z'));
  });
});
