import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { get } from '../api/client.js';
import type { ServerDetail, ServerEvent, ServerState } from '../api/types.js';
import { isSettled, serverKeys } from '../servers/server-queries.js';

const appendOnce = (list: ServerEvent[] = [], event: ServerEvent) => (list.some((e) => e.id === event.id) ? list : [...list, event]);

/** The server's timeline as recorded so far (one request); useTimelineStream appends to it live. */
export function useTimeline(id: string) {
  return useQuery({
    queryKey: serverKeys.events(id),
    queryFn: async () => (await get<{ items: ServerEvent[] }>(`/servers/${id}/events?limit=100`)).items,
  });
}

/**
 * Whether the page follows the stream. While the server is set up, each step; once it is ready or
 * stopped, Parley watches it and records incidents on the timeline, which the page must show
 * within seconds. A failed or deleted server changes no more, so no connection stays open for it.
 */
const followed = (state: ServerState | undefined) => state !== undefined && state !== 'failed' && state !== 'deleted';

/**
 * Follows the API's Server-Sent Events stream for the server page (every tab): each new timeline
 * event into the timeline query, each state change into the server query, and each incident
 * event (detected, repair failed, repaired) refetches the server for its health and incidents.
 */
export function useTimelineStream(id: string, state: ServerState | undefined) {
  const client = useQueryClient();
  const live = followed(state);

  useEffect(() => {
    if (!live) return;
    // Not cancelling a refetch under way: the stream replays history in bursts on (re)connection.
    const refetchServer = () => client.invalidateQueries({ queryKey: serverKeys.one(id), exact: true }, { cancelRefetch: false });
    // EventSource reconnects by itself after a drop, resuming with Last-Event-ID.
    const source = new EventSource(`/api/v1/servers/${id}/events/stream`);
    source.addEventListener('timeline', (message) => {
      const event = JSON.parse(String(message.data)) as ServerEvent;
      client.setQueryData<ServerEvent[]>(serverKeys.events(id), (list) => appendOnce(list, event));
      if (event.step === 'incident') void refetchServer();
    });
    source.addEventListener('state', (message) => {
      const next = JSON.parse(String(message.data)) as { state: ServerState; stateReason: string | null };
      client.setQueryData<ServerDetail>(serverKeys.one(id), (detail) => (detail ? { ...detail, ...next } : detail));
      // Settled: the connection details, SRV records and certificate are now worth reading.
      if (isSettled(next.state)) void refetchServer();
    });
    return () => source.close();
  }, [id, live, client]);
}
