import type { DependencyStatus } from '../contracts/dependency-check.js';
import type { WorkerDependency } from '../contracts/worker-health.js';

/**
 * One worker's run of failed checks per dependency, so a report says how long a dependency has
 * been down (checks in a row, since when) and whoever reads it can tell one slow answer from an outage.
 */
export class FailedCheckStreaks {
  private readonly streaks = new Map<WorkerDependency, { failedChecks: number; downSince: string }>();

  /** The check's status with its streak added when it failed; a passing check ends the streak. */
  record(dependency: WorkerDependency, status: DependencyStatus, checkedAt: string): DependencyStatus {
    if (status.ok) {
      this.streaks.delete(dependency);
      return status;
    }
    const previous = this.streaks.get(dependency);
    const streak = { failedChecks: (previous?.failedChecks ?? 0) + 1, downSince: previous?.downSince ?? checkedAt };
    this.streaks.set(dependency, streak);
    return { ...status, ...streak };
  }
}
