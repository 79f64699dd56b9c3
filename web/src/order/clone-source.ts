import type { Backup } from '../api/types.js';
import { backupTime } from '../server/backups.js';
import { formatDateTime } from '../ui/format.js';

/** The backup an order clones, and the server it was taken of, whose name and backups the order form reads. */
export interface CloneSource {
  backupId: string;
  serverId: string;
}

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The order form, opened to clone this backup. */
export const cloneOrderPath = ({ backupId, serverId }: CloneSource) => `/servers/new?${new URLSearchParams({ cloneFrom: backupId, server: serverId })}`;

/** The clone the order form's address asks for; anything but two ids is ignored, as the server's id goes into a request's path. */
export function cloneSourceOf(params: URLSearchParams): CloneSource | null {
  const backupId = params.get('cloneFrom');
  const serverId = params.get('server');
  return backupId && serverId && ID.test(backupId) && ID.test(serverId) ? { backupId, serverId } : null;
}

const WHAT_COMES_ALONG = 'its users, passwords, contacts, archives and group chats, under the new name.';

/** The order form's notice; until the server and its backup are read (or if they are no longer listed), without their name and time. */
export function cloneWords(serverName: string | undefined, backup: Pick<Backup, 'requestedAt' | 'startedAt' | 'finishedAt'> | undefined): string {
  if (serverName === undefined || backup === undefined) return `A clone of one of your backups: ${WHAT_COMES_ALONG}`;
  return `A clone of ${serverName} as it was at ${formatDateTime(backupTime(backup))}: ${WHAT_COMES_ALONG}`;
}
