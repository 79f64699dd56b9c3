import { counted } from '../contracts/counted.js';
import type { StepDeps } from '../provisioning/step-deps.js';

/**
 * Exports and uploaded imports past their expiry are deleted, content and all; an import an
 * order still waits for (its container step has not run yet) is kept until that is done.
 */
export async function purgeExpiredExports(deps: Pick<StepDeps, 'prisma'>, now: Date): Promise<string> {
  const exports = await deps.prisma.serverExport.deleteMany({ where: { expiresAt: { lte: now }, status: { in: ['succeeded', 'failed'] } } });
  const imports = await deps.prisma.serverImport.deleteMany({ where: { expiresAt: { lte: now }, servers: { none: {} } } });
  return `deleted ${counted(exports.count, 'expired export')} and ${counted(imports.count, 'expired import')}`;
}
