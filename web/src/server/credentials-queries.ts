import { useMutation } from '@tanstack/react-query';
import { post } from '../api/client.js';

export interface AdminCredential {
  jid: string;
  password: string;
  issuance: number;
}

/** The password is shown once by the API and kept only in this component's memory. */
export function useRevealAdmin(serverId: string) {
  return useMutation({ mutationFn: () => post<AdminCredential>(`/servers/${serverId}/credentials/reveal`) });
}

export function useResetAdmin(serverId: string) {
  return useMutation({ mutationFn: () => post<{ issuance: number }>(`/servers/${serverId}/credentials/reset`) });
}
