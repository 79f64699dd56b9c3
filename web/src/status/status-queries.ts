import { useQuery } from '@tanstack/react-query';
import { apiUrl } from '../api/client.js';
import { UNREACHABLE, toApiError } from '../api/plain-words.js';

export type ComponentStatus = 'up' | 'down';

/** GET /api/v1/status: public, nothing about hosts, versions or customers. */
export interface PlatformStatus {
  status: 'operational' | 'degraded' | 'down';
  checkedAt: string;
  components: { code: string; name: string; status: ComponentStatus }[];
  /** Newest first: those going on, and those that ended in the last 14 days. */
  incidents: { component: string; name: string; startedAt: string; resolvedAt: string | null }[];
}

export const platformStatusKey = ['platform-status'] as const;
/** How often an open page asks again; the API reuses an answer for a few seconds anyway. */
export const STATUS_REFRESH_MS = 30_000;

/**
 * Sent without the session cookie: the answer is the same for everyone, and a cookie would make
 * the API look the session up in the database, which may be what is down.
 */
async function fetchPlatformStatus(): Promise<PlatformStatus> {
  let response: Response;
  try {
    response = await fetch(apiUrl('/status'), { headers: { accept: 'application/json' }, credentials: 'omit' });
  } catch {
    throw UNREACHABLE;
  }
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) throw toApiError(response.status, body, response.headers.get('retry-after'));
  return body as PlatformStatus;
}

export function usePlatformStatus() {
  return useQuery({ queryKey: platformStatusKey, queryFn: fetchPlatformStatus, refetchInterval: STATUS_REFRESH_MS });
}
