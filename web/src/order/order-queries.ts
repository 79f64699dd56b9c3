import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { get, post, postXml } from '../api/client.js';
import type { Page, Plan, Server, ServerImport } from '../api/types.js';
import { serverKeys } from '../servers/server-queries.js';

export function usePlans() {
  return useQuery({ queryKey: ['plans'], queryFn: () => get<{ items: Plan[] }>('/plans'), staleTime: 300_000 });
}

export interface Order {
  name: string;
  federation: boolean;
  plan: string;
  domainId?: string;
  /** An upload of the account's, whose users the server starts with. */
  importId?: string;
  /** A finished backup of another of the account's servers, whose data the server starts with; not with importId. */
  cloneFromBackupId?: string;
}

export function useOrderServer() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (order: Order) => post<Server>('/servers', order),
    onSuccess: (server) => {
      client.setQueryData<Page<Server>>(serverKeys.all, (page) => (page ? { ...page, items: [server, ...page.items] } : page));
      void client.invalidateQueries({ queryKey: serverKeys.all });
    },
  });
}

/** Sends a XEP-0227 file as it is; the API checks it and keeps it 24 hours for the order that names it. */
export function useUploadImport() {
  return useMutation({ mutationFn: async (file: File) => postXml<ServerImport>('/imports', await file.text()) });
}
