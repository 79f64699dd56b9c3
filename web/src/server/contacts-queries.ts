import { useMutation, useQueryClient } from '@tanstack/react-query';
import { put } from '../api/client.js';
import type { ServerContacts } from '../api/types.js';
import { auditKey } from '../audit/audit-queries.js';
import { serverKeys } from '../servers/server-queries.js';

export type EditableContacts = Pick<ServerContacts, 'abuse' | 'support' | 'security'>;

export function useSetContacts(serverId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (contacts: EditableContacts) => put<{ contacts: ServerContacts; revision: number }>(`/servers/${serverId}/contacts`, contacts),
    onSuccess: () => Promise.all([client.invalidateQueries({ queryKey: serverKeys.one(serverId) }), client.invalidateQueries({ queryKey: auditKey })]),
  });
}
