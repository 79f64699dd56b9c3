import { useQuery } from '@tanstack/react-query';
import { get } from '../api/client.js';
import type { AuditEntry, Page } from '../api/types.js';

export const auditKey = ['audit'] as const;

/** The newest hundred entries of the account's audit log. */
export function useAuditLog() {
  return useQuery({ queryKey: auditKey, queryFn: () => get<Page<AuditEntry>>('/audit?limit=100') });
}
