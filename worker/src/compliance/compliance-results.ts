import type { PrismaClient } from '../../../prisma/client.js';
import type { CheckResult } from './compliance-check.js';

/** Keeps each check's latest result for the server: one row per check, overwritten in one transaction. */
export async function storeComplianceResults(prisma: PrismaClient, serverId: string, results: readonly CheckResult[]): Promise<void> {
  await prisma.$transaction(
    results.map((result) => {
      const data = { passed: result.passed, reason: result.reason, detail: result.detail.slice(0, 2_000), durationMs: result.durationMs, checkedAt: result.checkedAt };
      return prisma.complianceResult.upsert({ where: { serverId_checkId: { serverId, checkId: result.id } }, create: { serverId, checkId: result.id, ...data }, update: data });
    }),
  );
}

/** `18/21 passed; failed: xep0215-external-services (no_external_services), ...` */
export function summarizeComplianceResults(results: readonly CheckResult[]): string {
  const failures = results.filter((result) => !result.passed);
  const passedCount = results.length - failures.length;
  const failedList = failures.map((result) => `${result.id} (${result.reason})`).join(', ');
  return `${passedCount}/${results.length} compliance checks passed${failures.length > 0 ? `; failed: ${failedList}` : ''}`;
}
