import { describe, expect, it } from 'vitest';
import type { Backup, BackupList } from '../../web/src/api/types.js';
import { backupPollMs, backupStatus, everyWords, hasData, keepWords, nextBackupWords, scheduleWords } from '../../web/src/server/backups.js';
import { formatBytes } from '../../web/src/ui/format.js';

const now = new Date('2026-11-30T12:00:00.000Z').getTime();
const minutesAgo = (minutes: number) => new Date(now - minutes * 60_000).toISOString();

const backup = (fields: Partial<Backup>): Backup => ({
  id: '5a3f0a5e-34a4-4b8c-9d0f-2d1f3f9d8e11',
  kind: 'on_demand',
  status: 'succeeded',
  requestedAt: minutesAgo(1),
  startedAt: null,
  finishedAt: null,
  sizeBytes: null,
  addedBytes: null,
  pausedMs: null,
  attempts: 1,
  error: null,
  errorType: null,
  ...fields,
});

const list = (...items: Backup[]): BackupList => ({ schedule: { intervalMinutes: 1440, keep: { last: 1, daily: 7, weekly: 4 }, nextAt: null }, items });

describe("a server's backups, as the Backups section words them", () => {
  it("says the plan's schedule in words", () => {
    expect(scheduleWords({ intervalMinutes: 1440, keep: { last: 1, daily: 7, weekly: 4 }, nextAt: null })).toBe('Backed up every day; keeps the last 1, 7 daily and 4 weekly.');
    expect(everyWords(360)).toBe('every 6 hours');
    expect(everyWords(60)).toBe('every hour');
    expect(everyWords(10_080)).toBe('every week');
    expect(everyWords(2_880)).toBe('every 2 days');
    expect(everyWords(90)).toBe('every 90 minutes');
    expect(keepWords({ last: 4, daily: 0, weekly: 8 })).toBe('the last 4 and 8 weekly');
    expect(keepWords({ last: 0, daily: 7, weekly: 0 })).toBe('7 daily');
  });

  it('says when the next backup runs, a time passed as due now', () => {
    expect(nextBackupWords(new Date(now + 3 * 3_600_000).toISOString(), now)).toMatch(/\(in 3 hours\)$/);
    expect(nextBackupWords(minutesAgo(2), now)).toBe('due now, within a few minutes');
    expect(nextBackupWords(null, now)).toBe('once the backup under way has finished');
  });

  it('shows why an attempt failed, and that Parley retries while the backup is still queued', () => {
    expect(backupStatus(backup({ status: 'queued' }))).toEqual({ label: 'Waiting to start', tone: 'busy', detail: null });
    const retrying = backupStatus(backup({ status: 'queued', attempts: 2, error: 'The storage that keeps backups could not be reached.' }));
    expect(retrying).toEqual({ label: 'Retrying', tone: 'warn', detail: 'Attempt 2 failed: The storage that keeps backups could not be reached. Parley tries again by itself.' });
    const failed = backupStatus(backup({ status: 'failed', error: 'This took longer than it should and was stopped' }));
    expect(failed.label).toBe('Failed');
    expect(failed.detail).toMatch(/^This took longer than it should and was stopped\. Parley has stopped trying this one/);
    expect(backupStatus(backup({}))).toEqual({ label: 'Done', tone: 'good', detail: null });
  });

  it('offers backups and restores only on a server that has been set up and is not changing', () => {
    expect(hasData({ state: 'ready', readyAt: minutesAgo(5), desiredState: 'running' })).toBe(true);
    expect(hasData({ state: 'stopped', readyAt: minutesAgo(5), desiredState: 'stopped' })).toBe(true);
    expect(hasData({ state: 'failed', readyAt: minutesAgo(5), desiredState: 'running' })).toBe(true);
    expect(hasData({ state: 'failed', readyAt: null, desiredState: 'running' })).toBe(false);
    expect(hasData({ state: 'restoring', readyAt: minutesAgo(5), desiredState: 'running' })).toBe(false);
    expect(hasData({ state: 'ready', readyAt: minutesAgo(5), desiredState: 'deleted' })).toBe(false);
  });

  it('re-reads the list while a backup is under way or a restore is followed, calmly once it has waited long, and not otherwise', () => {
    expect(backupPollMs(list(backup({})), false, now)).toBe(false);
    expect(backupPollMs(undefined, false, now)).toBe(false);
    expect(backupPollMs(list(backup({})), true, now)).toBe(2_000);
    expect(backupPollMs(list(backup({ status: 'running', requestedAt: minutesAgo(1) })), false, now)).toBe(2_000);
    expect(backupPollMs(list(backup({ status: 'queued', requestedAt: minutesAgo(30), error: 'down' })), false, now)).toBe(30_000);
  });

  it('gives sizes in binary units', () => {
    expect(formatBytes(1)).toBe('1 byte');
    expect(formatBytes(900)).toBe('900 bytes');
    expect(formatBytes(1_536)).toBe('1.5 KiB');
    expect(formatBytes(5 * 1024 * 1024)).toBe('5 MiB');
    expect(formatBytes(3.25 * 1024 ** 3)).toBe('3.3 GiB');
  });
});
