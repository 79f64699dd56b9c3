import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { get, post } from '../api/client.js';
import type { DeletedServer } from '../api/types.js';
import { auditKey } from '../audit/audit-queries.js';
import { serverKeys } from './server-queries.js';

const deletedServersKey = ['deleted-servers'] as const;

/**
 * The deleted servers whose deletion can still be undone. `deleting`: a server of the list is
 * being deleted; it joins this list once the worker is done, so the list is polled meanwhile and
 * read once more when the deletion has finished (the last poll may have come just before).
 */
export function useDeletedServers(deleting: boolean) {
  const client = useQueryClient();
  const wasDeleting = useRef(deleting);
  useEffect(() => {
    if (wasDeleting.current && !deleting) void client.invalidateQueries({ queryKey: deletedServersKey });
    wasDeleting.current = deleting;
  }, [client, deleting]);
  return useQuery({
    queryKey: deletedServersKey,
    queryFn: async () => (await get<{ items: DeletedServer[] }>('/deleted-servers')).items,
    refetchInterval: deleting ? 3_000 : false,
  });
}

/** Undoes a deletion: the server is set up again on its final backup's data, and is live at once. */
export function useBringBack() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => post<{ accepted: boolean }>(`/deleted-servers/${id}/restore`),
    onSuccess: (_answer, id) => {
      // What is cached of the server and its timeline is from before the deletion: its page must
      // not show that while it reads the server anew.
      client.removeQueries({ queryKey: serverKeys.one(id) });
      return Promise.all([
        client.invalidateQueries({ queryKey: deletedServersKey }),
        client.invalidateQueries({ queryKey: serverKeys.all }),
        client.invalidateQueries({ queryKey: auditKey }),
      ]);
    },
  });
}
