import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { get, post } from '../api/client.js';
import type { FailedJob, OperatorOverview, QueueName } from './operator-types.js';

const operatorKeys = { overview: ['operator', 'overview'] as const, failedJobs: ['operator', 'failed-jobs'] as const };

/** The console keeps itself current while open: the worker's reports change every few seconds. */
const REFRESH_MS = 15_000;

export function useOperatorOverview() {
  return useQuery({ queryKey: operatorKeys.overview, queryFn: () => get<OperatorOverview>('/operator/overview'), refetchInterval: REFRESH_MS });
}

export function useFailedJobs() {
  return useQuery({ queryKey: operatorKeys.failedJobs, queryFn: () => get<{ items: FailedJob[] }>('/operator/jobs/failed'), refetchInterval: REFRESH_MS });
}

/** Puts a failed job back on its queue; the list and the queue depths are read again after. */
export function useRetryJob() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (job: { queue: QueueName; id: string }) => post<{ accepted: boolean }>(`/operator/jobs/${encodeURIComponent(job.queue)}/${encodeURIComponent(job.id)}/retry`),
    onSettled: () => Promise.all([client.invalidateQueries({ queryKey: operatorKeys.failedJobs }), client.invalidateQueries({ queryKey: operatorKeys.overview })]),
  });
}
