import type { ApiRequest } from '../../support/platform-api.js';
import type { ProvisioningHarness } from '../../support/provisioning-harness.js';

/** A server as GET /servers/{id} shows it, the little the benches read. */
export interface ServerView {
  id: string;
  domain: string;
  state: string;
  stateReason: string | null;
  connection: { ports: { starttls: number } } | null;
}

/** How often a bench polls the API, as a dashboard waiting for its server might. */
export const POLL_MS = 25;

export async function json<T>(answer: Response, what: string): Promise<T> {
  if (!answer.ok) throw new Error(`${what}: ${answer.status} ${await answer.text()}`);
  return (await answer.json()) as T;
}

/** Orders a server with federation on through the API; resolves once the API accepted the order. */
export async function order(request: ApiRequest, name: string): Promise<ServerView> {
  return json<ServerView>(await request('POST', '/servers', { name, federation: true }), `POST /servers ${name}`);
}

/** Polls the API until it says the server is ready; resolves with when it first said so. */
export async function readyPerApi(request: ApiRequest, serverId: string, timeoutMs = 180_000): Promise<{ at: number; server: ServerView }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const server = await json<ServerView>(await request('GET', `/servers/${serverId}`), `GET /servers/${serverId}`);
    if (server.state === 'ready') return { at: performance.now(), server };
    if (server.state === 'failed') throw new Error(`server ${serverId} failed: ${server.stateReason ?? ''}`);
    if (Date.now() > deadline) throw new Error(`the API did not say server ${serverId} is ready within ${timeoutMs / 1000} s (${server.state}); ${await lastEvents(request, serverId)}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** A timeline event as GET /servers/{id}/events shows it, the fields the benches read. */
export interface ServerEvent {
  id: string;
  step: string;
  status: string;
  attempt: number;
  errorType: string | null;
  message: string;
  downtimeMs: number | null;
}

/** The server's whole timeline through the API, oldest first (at most 50 pages of 100). */
export async function serverTimeline(request: ApiRequest, serverId: string): Promise<ServerEvent[]> {
  const events: ServerEvent[] = [];
  for (let page = 0; page < 50; page++) {
    const after = events.at(-1)?.id ?? '0';
    const { items } = await json<{ items: ServerEvent[] }>(await request('GET', `/servers/${serverId}/events?after=${after}&limit=100`), `GET /servers/${serverId}/events`);
    events.push(...items);
    if (items.length < 100) break;
  }
  return events;
}

/** The server's last timeline events as its customer sees them, for a bench's error: why an order stalled. */
async function lastEvents(request: ApiRequest, serverId: string): Promise<string> {
  const last = (await serverTimeline(request, serverId)).slice(-3).map((e) => `${e.step} ${e.status} (attempt ${e.attempt}${e.errorType ? `, ${e.errorType}` : ''}): ${e.message.slice(0, 300)}`);
  return `its last events: ${last.join(' | ') || 'none'}`;
}

/**
 * Deletes every server as its customer would, through the API (the worker process removes them),
 * then waits until all are deleted, within one deadline for the lot. Every deletion is asked
 * for even when one is refused; what was refused is thrown at the end.
 */
export async function deleteThroughApi(harness: ProvisioningHarness, servers: readonly { id: string; request: ApiRequest }[], timeoutMs: number): Promise<void> {
  const refused: string[] = [];
  const deleting: string[] = [];
  for (const { id, request } of servers) {
    const server = await harness.prisma.server.findUnique({ where: { id }, select: { name: true, state: true } });
    if (!server || server.state === 'deleted') continue;
    const answer = await request('DELETE', `/servers/${id}`, { confirm: server.name });
    if (answer.ok) deleting.push(id);
    else refused.push(`${id}: ${answer.status} ${await answer.text()}`);
  }
  const deadline = Date.now() + timeoutMs;
  for (const id of deleting) await harness.waitForState(id, 'deleted', Math.max(1_000, deadline - Date.now()));
  if (refused.length > 0) throw new Error(`DELETE refused for ${refused.length} servers: ${refused.join('; ')}`);
}
