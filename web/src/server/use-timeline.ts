import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { get } from '../api/client.js';
import type { ServerDetail, ServerEvent, ServerState } from '../api/types.js';
import { isSettled, serverKeys } from '../servers/server-queries.js';

const appendOnce = (list: ServerEvent[] = [], event: ServerEvent) => (list.some((e) => e.id === event.id) ? list : [...list, event]);

/**
 * The server's timeline: what has happened (one request), then, while the server is busy, each
 * new event live from the API's Server-Sent Events stream. The stream closes once the server
 * settles, so an idle dashboard holds no connection open.
 */
export function useTimeline(server: ServerDetail) {
  const client = useQueryClient();
  const { id } = server;
  const live = !isSettled(server.state);
  const history = useQuery({
    queryKey: serverKeys.events(id),
    queryFn: async () => (await get<{ items: ServerEvent[] }>(`/servers/${id}/events?limit=100`)).items,
  });

  useEffect(() => {
    if (!live) return;
    // EventSource reconnects by itself after a drop, resuming with Last-Event-ID.
    const source = new EventSource(`/api/v1/servers/${id}/events/stream`);
    source.addEventListener('timeline', (message) => {
      const event = JSON.parse(String(message.data)) as ServerEvent;
      client.setQueryData<ServerEvent[]>(serverKeys.events(id), (list) => appendOnce(list, event));
    });
    source.addEventListener('state', (message) => {
      const state = JSON.parse(String(message.data)) as { state: ServerState; stateReason: string | null };
      client.setQueryData<ServerDetail>(serverKeys.one(id), (detail) => (detail ? { ...detail, ...state } : detail));
      // Settled: the connection details, SRV records and certificate are now worth reading.
      if (isSettled(state.state)) void client.invalidateQueries({ queryKey: serverKeys.one(id) });
    });
    return () => source.close();
  }, [id, live, client]);

  return history;
}
