import type { ExportStatus, ServerExport } from '../api/types.js';
import type { Tone } from '../servers/server-condition.js';
import { formatDateTime, relative } from '../ui/format.js';
import { failureSentence, retrying, type StatusWords } from './queued-work.js';

/** Past its expiry an export is deleted (the API answers 410 meanwhile): nothing to download. */
export const isExpired = (item: Pick<ServerExport, 'expiresAt'>, now: number) => new Date(item.expiresAt).getTime() <= now;

export const isDownloadable = (item: Pick<ServerExport, 'status' | 'expiresAt'>, now: number) => item.status === 'succeeded' && !isExpired(item, now);

const STATUS: Record<ExportStatus, { label: string; tone: Tone }> = {
  queued: { label: 'Waiting to start', tone: 'busy' },
  running: { label: 'Exporting', tone: 'busy' },
  succeeded: { label: 'Ready to download', tone: 'good' },
  failed: { label: 'Failed', tone: 'bad' },
};

/** An export's status in words; a failed attempt says why, and whether Parley tries again. */
export function exportStatus(item: Pick<ServerExport, 'status' | 'error' | 'attempts' | 'expiresAt'>, now: number): StatusWords {
  if (item.status === 'failed') return { ...STATUS.failed, detail: `${failureSentence(item.error)} Parley has stopped trying this one; export again to make a new one.` };
  if (item.status === 'succeeded' && isExpired(item, now)) return { label: 'Expired', tone: 'muted', detail: 'Exports are kept for a limited time; export again for a new one.' };
  return retrying(item) ?? { ...STATUS[item.status], detail: null };
}

/** Until when a finished export can be downloaded; a failed one has nothing to keep. */
export function expiryWords(item: Pick<ServerExport, 'status' | 'expiresAt'>, now: number): string {
  if (item.status === 'failed') return '—';
  return `${formatDateTime(item.expiresAt)} (${relative(item.expiresAt, now)})`;
}
