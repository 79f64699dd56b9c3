import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { get, post } from '../api/client.js';
import type { ServerExport } from '../api/types.js';
import { auditKey } from '../audit/audit-queries.js';
import { serverKeys } from '../servers/server-queries.js';
import { underWayPollMs } from './queued-work.js';

const exportsKey = (serverId: string) => [...serverKeys.one(serverId), 'exports'] as const;

/** The server's exports, newest first, re-read while one is under way. */
export function useExports(serverId: string) {
  return useQuery({
    queryKey: exportsKey(serverId),
    queryFn: () => get<{ items: ServerExport[] }>(`/servers/${serverId}/exports`),
    refetchInterval: (query) => underWayPollMs(query.state.data?.items ?? [], Date.now()),
  });
}

/** Answers with the new export, or with the one already under way. */
export function useExportUsers(serverId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => post<ServerExport>(`/servers/${serverId}/exports`),
    onSuccess: () => Promise.all([client.invalidateQueries({ queryKey: exportsKey(serverId) }), client.invalidateQueries({ queryKey: auditKey })]),
  });
}
