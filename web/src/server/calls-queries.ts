import { useMutation, useQueryClient } from '@tanstack/react-query';
import { post } from '../api/client.js';
import { auditKey } from '../audit/audit-queries.js';

export function useRotateCallsSecret(serverId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => post<{ version: number }>(`/servers/${serverId}/calls/secret/rotate`),
    onSuccess: () => client.invalidateQueries({ queryKey: auditKey }),
  });
}
