/**
 * Runs every cleanup step even when an earlier one fails (so one failure does not leak what the
 * later steps would release), then throws what failed, so the hook fails and the teardown is
 * reported rather than swallowed.
 */
export async function tearDownAll(steps: readonly (() => Promise<unknown>)[]): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, `${failures.length} teardown steps failed`);
}
