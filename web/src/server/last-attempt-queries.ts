import { useQuery } from '@tanstack/react-query';
import { get } from '../api/client.js';
import type { ServerEvent } from '../api/types.js';
import { serverKeys } from '../servers/server-queries.js';
import { lastAttempt } from './last-attempt.js';
import type { ServerAction } from './server-actions-queries.js';

/** The API's largest page of events. */
const PAGE = 100;

/** Every event recorded after event `after`, oldest first, page by page until a short page. */
export async function eventsAfter(serverId: string, after: string): Promise<ServerEvent[]> {
  const events: ServerEvent[] = [];
  let cursor = after;
  for (;;) {
    const { items } = await get<{ items: ServerEvent[] }>(`/servers/${serverId}/events?after=${cursor}&limit=${PAGE}`);
    events.push(...items);
    const last = items.at(-1);
    if (items.length < PAGE || !last) return events;
    cursor = last.id;
  }
}

/** The id of the server's newest event ('0' for none): what an action's own events come after. */
export async function newestEventId(serverId: string): Promise<string> {
  return (await eventsAfter(serverId, '0')).at(-1)?.id ?? '0';
}

/**
 * While the worker carries out `action` (requested once the timeline had reached event `since`),
 * its newest finished attempt, polled: the server's state says nothing about a failed attempt,
 * since the worker retries without moving it.
 */
export function useLastAttempt(serverId: string, awaited: { action: ServerAction; since: string } | undefined) {
  return useQuery({
    queryKey: serverKeys.eventsAfter(serverId, awaited?.since ?? '0'),
    queryFn: () => eventsAfter(serverId, awaited?.since ?? '0'),
    enabled: awaited !== undefined,
    refetchInterval: 2_000,
    select: (events) => (awaited ? lastAttempt(events, awaited.action) : undefined),
  });
}
