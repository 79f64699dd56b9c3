import { useMutation, useQueryClient } from '@tanstack/react-query';
import { del, post } from '../api/client.js';
import { auditKey } from '../audit/audit-queries.js';
import { serverKeys } from '../servers/server-queries.js';
import { newestEventId } from './last-attempt-queries.js';

export type ServerAction = 'stop' | 'start' | 'restart';

export function useServerAction(serverId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (action: ServerAction) => {
      // Read before the request: the worker can record its first attempt before the answer arrives.
      const since = await newestEventId(serverId);
      await post<{ accepted: boolean }>(`/servers/${serverId}/actions`, { action });
      return { since };
    },
    // The Manage tab shows the audit log beside the buttons: the request is in it now.
    onSuccess: () => Promise.all([client.invalidateQueries({ queryKey: serverKeys.one(serverId) }), client.invalidateQueries({ queryKey: auditKey })]),
  });
}

export function useDeleteServer(serverId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (confirm: string) => del<{ accepted: boolean }>(`/servers/${serverId}`, { confirm }),
    onSuccess: () => client.invalidateQueries({ queryKey: serverKeys.all }),
  });
}
