import { useQuery } from '@tanstack/react-query';
import { get } from '../api/client.js';
import { serverKeys } from '../servers/server-queries.js';

export interface UsagePoint {
  at: string;
  registeredUsers: number;
  onlineUsers: number;
  storageBytes: number;
}

export interface UsageRange {
  days: number;
  bucketMinutes: number;
  /** The peak of each bucket, oldest first; a bucket without samples has no point. */
  points: UsagePoint[];
  /** Every day of the range, oldest first. */
  messagesPerDay: { day: string; messages: number }[];
}

/** GET /servers/{id}/usage: the worker's latest count, the plan's limits, and the ranges charted. */
export interface ServerUsage {
  sampledAt: string | null;
  limits: { users: number; storageBytes: number };
  latest: { registeredUsers: number; onlineUsers: number; uploadBytes: number; archiveBytes: number } | null;
  messagesToday: number;
  ranges: UsageRange[];
}

/** The worker counts every few minutes: a minute between refreshes shows each new count soon enough. */
export function useUsage(serverId: string) {
  return useQuery({
    queryKey: [...serverKeys.one(serverId), 'usage'] as const,
    queryFn: () => get<ServerUsage>(`/servers/${serverId}/usage`),
    refetchInterval: 60_000,
  });
}
