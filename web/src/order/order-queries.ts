import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { get, post } from '../api/client.js';
import type { Page, Plan, Server } from '../api/types.js';
import { serverKeys } from '../servers/server-queries.js';

export function usePlans() {
  return useQuery({ queryKey: ['plans'], queryFn: () => get<{ items: Plan[] }>('/plans'), staleTime: 300_000 });
}

export interface Order {
  name: string;
  federation: boolean;
  plan: string;
  domainId?: string;
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
