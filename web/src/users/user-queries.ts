import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { del, get, post } from '../api/client.js';
import type { Page, XmppUser } from '../api/types.js';

const usersKey = (serverId: string) => ['servers', serverId, 'users'] as const;
const SETTLED = new Set(['active', 'failed']);

export function useUsers(serverId: string) {
  return useQuery({
    queryKey: usersKey(serverId),
    queryFn: () => get<Page<XmppUser>>(`/servers/${serverId}/users?limit=100`),
    // The worker applies changes within seconds; follow them while any is under way.
    refetchInterval: (query) => (query.state.data?.items.some((u) => !SETTLED.has(u.state) || u.lastError) ? 1_500 : false),
  });
}

export function useCreateUser(serverId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (localpart: string) => post<{ user: XmppUser }>(`/servers/${serverId}/users`, { localpart }),
    onSuccess: () => client.invalidateQueries({ queryKey: usersKey(serverId) }),
  });
}

export function useDeleteUser(serverId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => del<XmppUser>(`/servers/${serverId}/users/${id}`),
    onSuccess: () => client.invalidateQueries({ queryKey: usersKey(serverId) }),
  });
}

export function useResetUserPassword(serverId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => post<{ user: XmppUser }>(`/servers/${serverId}/users/${id}/password`),
    onSuccess: () => client.invalidateQueries({ queryKey: usersKey(serverId) }),
  });
}

export function useRevealUserPassword(serverId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => post<{ jid: string; password: string }>(`/servers/${serverId}/users/${id}/password/reveal`),
    onSettled: () => client.invalidateQueries({ queryKey: usersKey(serverId) }),
  });
}
