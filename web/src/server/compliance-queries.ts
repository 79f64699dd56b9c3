import { useMutation, useQueryClient } from '@tanstack/react-query';
import { post } from '../api/client.js';
import { serverKeys } from '../servers/server-queries.js';

export function useCheckCompliance(serverId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => post<{ accepted: boolean }>(`/servers/${serverId}/compliance`),
    onSuccess: () => client.invalidateQueries({ queryKey: serverKeys.one(serverId) }),
  });
}
