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
  eventsAfter: (id: string, after: string) => ['servers', id, 'events', { after }] as const,
};

export function useServers() {
  return useQuery({
    queryKey: serverKeys.all,
    queryFn: () => get<Page<Server>>('/servers?limit=100'),
    // The list shows states; while one is moving, refresh it calmly.
    refetchInterval: (query) => (query.state.data?.items.some((s) => !isSettled(s.state)) ? 3_000 : false),
  });
}

const serverQuery = (id: string) => ({ queryKey: serverKeys.one(id), queryFn: () => get<ServerDetail>(`/servers/${id}`) });

export function useServer(id: string) {
  return useQuery({
    ...serverQuery(id),
    // Deletion and actions are not on the timeline stream's state events everywhere: poll while busy.
    refetchInterval: (query) => (query.state.data && !isSettled(query.state.data.state) ? 2_000 : false),
  });
}

/**
 * Polls the server until it is in `state`. A stop or start moves a server from one settled state
 * straight to another (the worker records no state in between), so useServer alone would stop
 * polling before the change arrives.
 */
export function useServerUntil(id: string, state: ServerState | undefined) {
  return useQuery({
    ...serverQuery(id),
    enabled: state !== undefined,
    refetchInterval: (query) => (state !== undefined && query.state.data?.state !== state ? 1_000 : false),
  });
}
