import type { Plan } from '../../../prisma/generated/client/client.js';

type Limits = Pick<Plan, 'maxUsersPerServer' | 'storageMiB' | 'memoryMiB' | 'cpuMillis' | 'pidsLimit'>;
const LIMITS: (keyof Limits)[] = ['maxUsersPerServer', 'storageMiB', 'memoryMiB', 'cpuMillis', 'pidsLimit'];

/** A server's plan is within the account's when it gives no more of anything: users, storage, memory, CPU, processes. */
export function withinAccountPlan(serverPlan: Limits, accountPlan: Limits): boolean {
  return LIMITS.every((limit) => serverPlan[limit] <= accountPlan[limit]);
}
