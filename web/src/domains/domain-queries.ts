import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { del, get, post } from '../api/client.js';
import type { Domain, Page } from '../api/types.js';

const domainKeys = { all: ['domains'] as const, one: (id: string) => ['domains', id] as const };

export function useDomains() {
  return useQuery({ queryKey: domainKeys.all, queryFn: () => get<Page<Domain>>('/domains?limit=100') });
}

export function useDomain(id: string) {
  return useQuery({ queryKey: domainKeys.one(id), queryFn: () => get<Domain>(`/domains/${id}`) });
}

export function useAddDomain() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => post<Domain>('/domains', { name }),
    onSuccess: (domain) => {
      client.setQueryData(domainKeys.one(domain.id), domain);
      void client.invalidateQueries({ queryKey: domainKeys.all });
    },
  });
}

export function useVerifyDomain(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => post<Domain>(`/domains/${id}/verify`),
    onSuccess: (domain) => {
      client.setQueryData(domainKeys.one(id), domain);
      void client.invalidateQueries({ queryKey: domainKeys.all });
    },
  });
}

export function useRemoveDomain(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => del<null>(`/domains/${id}`),
    onSuccess: () => client.invalidateQueries({ queryKey: domainKeys.all }),
  });
}
