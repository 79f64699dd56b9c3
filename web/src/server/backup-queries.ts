import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { get, post } from '../api/client.js';
import type { Backup, BackupList } from '../api/types.js';
import { auditKey } from '../audit/audit-queries.js';
import { serverKeys, useServerWhile } from '../servers/server-queries.js';
import { backupPollMs } from './backups.js';
import { eventsAfter, newestEventId } from './last-attempt-queries.js';
import { isFinal, lastAttempt } from './last-attempt.js';

const backupsKey = (serverId: string) => [...serverKeys.one(serverId), 'backups'] as const;

/** The schedule and the backups; `following` (a restore under way) keeps the list fresh while its safety backup runs. */
export function useBackups(serverId: string, following: boolean) {
  return useQuery({
    queryKey: backupsKey(serverId),
    queryFn: () => get<BackupList>(`/servers/${serverId}/backups`),
    refetchInterval: (query) => backupPollMs(query.state.data, following, Date.now()),
  });
}

/** Answers with the new backup, or with the one already under way. */
export function useBackUpNow(serverId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => post<Backup>(`/servers/${serverId}/backups`),
    onSuccess: () => Promise.all([client.invalidateQueries({ queryKey: backupsKey(serverId) }), client.invalidateQueries({ queryKey: auditKey })]),
  });
}

/**
 * A restore, and its newest finished attempt from the timeline, polled until the worker is done
 * with it: the server ends in the state it began in, so only the restore's own events say when it
 * is over. Meanwhile the server is polled too, so its badge shows the restore under way.
 */
export function useRestore(serverId: string) {
  const client = useQueryClient();
  const request = useMutation({
    mutationFn: async (backupId: string) => {
      // Read before the request: the worker can record its first attempt before the answer arrives.
      const since = await newestEventId(serverId);
      await post<{ accepted: boolean; requestId: string }>(`/servers/${serverId}/backups/${backupId}/restore`);
      return { since };
    },
    onSuccess: () => Promise.all([client.invalidateQueries({ queryKey: serverKeys.one(serverId) }), client.invalidateQueries({ queryKey: auditKey })]),
  });
  const since = request.data?.since;
  const outcome = useQuery({
    queryKey: serverKeys.eventsAfter(serverId, since ?? '0'),
    queryFn: () => eventsAfter(serverId, since ?? '0'),
    enabled: since !== undefined,
    select: (events) => lastAttempt(events, 'restore'),
    refetchInterval: (query) => (isFinal(lastAttempt(query.state.data ?? [], 'restore')) ? false : 2_000),
  });
  const attempt = since === undefined ? undefined : outcome.data;
  const following = since !== undefined && !isFinal(attempt);
  const finished = since !== undefined && !following;
  useServerWhile(serverId, following);
  // Once over, the server (its state, the recreated container) and the list (the safety backup) once more.
  useEffect(() => {
    if (finished) void client.invalidateQueries({ queryKey: serverKeys.one(serverId) });
  }, [client, finished, serverId]);
  return { request, attempt, following };
}
