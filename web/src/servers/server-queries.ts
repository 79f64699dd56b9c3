import { useQuery } from '@tanstack/react-query';
import { get } from '../api/client.js';
import type { Page, Server, ServerDetail, ServerState } from '../api/types.js';
import { troubleOf } from './server-condition.js';

/** States nothing is happening in: no need to watch them change. */
const SETTLED: ReadonlySet<ServerState> = new Set(['ready', 'stopped', 'failed', 'deleted']);
export const isSettled = (state: ServerState) => SETTLED.has(state);

/** Deleted by its owner, not yet by the worker: it leaves the list once the worker is done. */
export const isBeingDeleted = (server: Pick<Server, 'state' | 'desiredState'>) => server.desiredState === 'deleted' && server.state !== 'deleted';

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
    // The list shows states and health, which change behind the page's back (Parley watches and
    // repairs): refresh it calmly, and more often while one is moving, in trouble or being
    // deleted (it waits for the worker in a settled state).
    refetchInterval: (query) => (query.state.data?.items.some((s) => !isSettled(s.state) || troubleOf(s) !== null || isBeingDeleted(s)) ? 3_000 : 15_000),
  });
}

/**
 * How often the server page re-reads the server. Deletion and actions are not on the timeline
 * stream's state events everywhere: every 2 s while busy. While an incident goes on, every
 * second: the worker records an incident before it writes the health it adds up to, and a repair
 * takes seconds. Otherwise the stream brings incidents, and a slow poll keeps "Checked …" current.
 */
function serverPollMs(server: ServerDetail | undefined): number {
  if (server && !isSettled(server.state)) return 2_000;
  if (server?.incidents.some((i) => i.status === 'open')) return 1_000;
  return 30_000;
}

const serverQuery = (id: string) => ({ queryKey: serverKeys.one(id), queryFn: () => get<ServerDetail>(`/servers/${id}`) });

export function useServer(id: string) {
  return useQuery({
    ...serverQuery(id),
    refetchInterval: (query) => serverPollMs(query.state.data),
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

/**
 * Polls the server every second while `following`. A restore goes from ready back to ready, so no
 * state marks its end for useServerUntil; the caller knows from the restore's own events.
 */
export function useServerWhile(id: string, following: boolean) {
  return useQuery({
    ...serverQuery(id),
    enabled: following,
    refetchInterval: following ? 1_000 : false,
  });
}
