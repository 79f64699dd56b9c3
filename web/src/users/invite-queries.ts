import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { del, get, post } from '../api/client.js';
import type { Invite, Page } from '../api/types.js';

const invitesKey = (serverId: string) => ['servers', serverId, 'invites'] as const;
const MOVING = new Set(['pending', 'revoking']);

export function useInvites(serverId: string) {
  return useQuery({
    queryKey: invitesKey(serverId),
    queryFn: () => get<Page<Invite>>(`/servers/${serverId}/invites?limit=100`),
    refetchInterval: (query) => (query.state.data?.items.some((i) => MOVING.has(i.state)) ? 1_500 : false),
  });
}

/** The link is a credential: fetched only when asked for, never kept in the list. */
export function useInviteLink(serverId: string, inviteId: string, enabled: boolean) {
  return useQuery({
    queryKey: [...invitesKey(serverId), inviteId, 'link'],
    queryFn: () => get<Invite & { link: string | null }>(`/servers/${serverId}/invites/${inviteId}`),
    enabled,
    gcTime: 0,
  });
}

export function useCreateInvite(serverId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (expiresInHours: number) => post<Invite>(`/servers/${serverId}/invites`, { expiresInHours }),
    onSuccess: () => client.invalidateQueries({ queryKey: invitesKey(serverId) }),
  });
}

export function useRevokeInvite(serverId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => del<Invite>(`/servers/${serverId}/invites/${id}`),
    onSuccess: () => client.invalidateQueries({ queryKey: invitesKey(serverId) }),
  });
}
