import { useQuery } from '@tanstack/react-query';
import { get } from '../api/client.js';
import type { Page, Server, ServerDetail, ServerState } from '../api/types.js';

/** States nothing is happening in: no need to watch them change. */
const SETTLED: ReadonlySet<ServerState> = new Set(['ready', 'stopped', 'failed', 'deleted']);
export const isSettled = (state: ServerState) => SETTLED.has(state);

export const serverKeys = {
  all: ['servers'] as const,
  one: (id: string) => ['servers', id] as const,
  events: (id: string) => ['servers', id, 'events'] as const,
};

export function useServers() {
  return useQuery({
    queryKey: serverKeys.all,
    queryFn: () => get<Page<Server>>('/servers?limit=100'),
    // The list shows states; while one is moving, refresh it calmly.
    refetchInterval: (query) => (query.state.data?.items.some((s) => !isSettled(s.state)) ? 3_000 : false),
  });
}

export function useServer(id: string) {
  return useQuery({
    queryKey: serverKeys.one(id),
    queryFn: () => get<ServerDetail>(`/servers/${id}`),
    // Deletion and actions are not on the timeline stream's state events everywhere: poll while busy.
    refetchInterval: (query) => (query.state.data && !isSettled(query.state.data.state) ? 2_000 : false),
  });
}
