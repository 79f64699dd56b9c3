import type { Backup, BackupKind, BackupList, BackupSchedule, BackupStatus, Server } from '../api/types.js';
import type { Tone } from '../servers/server-condition.js';
import { counted, formatDateTime, relative } from '../ui/format.js';
import { failureSentence, retrying, underWayPollMs, type StatusWords } from './queued-work.js';

/**
 * Whether Parley can back the server up, restore or export it now: the API's own rule (a server that
 * has been set up and that no deletion or restore is changing), so no button is offered only to be refused.
 */
export function hasData(server: Pick<Server, 'state' | 'readyAt' | 'desiredState'>): boolean {
  if (server.desiredState === 'deleted') return false;
  return server.state === 'ready' || server.state === 'stopped' || (server.state === 'failed' && server.readyAt !== null);
}

const UNITS: [minutes: number, unit: string][] = [
  [10_080, 'week'],
  [1_440, 'day'],
  [60, 'hour'],
];

/** "every day", "every 6 hours", "every 90 minutes". */
export function everyWords(minutes: number): string {
  const [size, unit] = UNITS.find(([size]) => minutes % size === 0) ?? [1, 'minute'];
  const n = minutes / size;
  return n === 1 ? `every ${unit}` : `every ${counted(n, unit)}`;
}

/** "the last 1, 7 daily and 4 weekly": what retention keeps, its empty parts left out. */
export function keepWords(keep: BackupSchedule['keep']): string {
  const parts = [keep.last > 0 ? `the last ${keep.last}` : '', keep.daily > 0 ? `${keep.daily} daily` : '', keep.weekly > 0 ? `${keep.weekly} weekly` : ''].filter(Boolean);
  if (parts.length <= 1) return parts[0] ?? 'none';
  return `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}

export const scheduleWords = (schedule: BackupSchedule) => `Backed up ${everyWords(schedule.intervalMinutes)}; keeps ${keepWords(schedule.keep)}.`;

/** When the next scheduled backup runs; the scheduler looks every few minutes, so a time passed is "due now". */
export function nextBackupWords(nextAt: string | null, now: number): string {
  if (nextAt === null) return 'once the backup under way has finished';
  if (new Date(nextAt).getTime() <= now) return 'due now, within a few minutes';
  return `${formatDateTime(nextAt)} (${relative(nextAt, now)})`;
}

export const KIND_WORDS: Record<BackupKind, string> = {
  scheduled: 'Scheduled',
  on_demand: 'On request',
  safety: 'Safety backup before a restore',
  final: 'Final backup before deletion',
  move: 'Taken to move the server to another machine',
};

/** The moment a backup stands for: when it finished, or how far it got. */
export const backupTime = (backup: Pick<Backup, 'requestedAt' | 'startedAt' | 'finishedAt'>) => backup.finishedAt ?? backup.startedAt ?? backup.requestedAt;

const STATUS: Record<BackupStatus, { label: string; tone: Tone }> = {
  queued: { label: 'Waiting to start', tone: 'busy' },
  running: { label: 'Backing up', tone: 'busy' },
  succeeded: { label: 'Done', tone: 'good' },
  failed: { label: 'Failed', tone: 'bad' },
  forgotten: { label: 'No longer kept', tone: 'muted' },
};

/**
 * A backup's status in words, and for a failed attempt why and what happens next: the API keeps a
 * backup queued, with the error, while the worker waits to try it again.
 */
export function backupStatus(backup: Pick<Backup, 'status' | 'error' | 'attempts'>): StatusWords {
  if (backup.status === 'failed') {
    return { ...STATUS.failed, detail: `${failureSentence(backup.error)} Parley has stopped trying this one; back up now, or wait for the next scheduled backup.` };
  }
  return retrying(backup) ?? { ...STATUS[backup.status], detail: null };
}

/** How often the list is re-read: every 2 s while a restore is followed, otherwise as its backups under way need. */
export function backupPollMs(list: BackupList | undefined, following: boolean, now: number): number | false {
  return following ? 2_000 : underWayPollMs(list?.items ?? [], now);
}
