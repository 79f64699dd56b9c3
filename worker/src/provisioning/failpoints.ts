/**
 * Fault injection for the crash tests: a named point where the worker stops dead, as if the
 * machine lost power, after a step's side effects and before its completion is recorded.
 * Only honoured in sandbox mode (the config refuses it in production).
 */
export class Failpoints {
  constructor(
    private readonly points: ReadonlySet<string>,
    private readonly announce: (point: string) => void,
  ) {}

  static none(): Failpoints {
    return new Failpoints(new Set(), () => undefined);
  }

  async hit(point: string): Promise<void> {
    if (!this.points.has(point)) return;
    this.announce(point);
    // Hang until the test kills the process; nothing after this point may run.
    await new Promise<never>(() => undefined);
  }
}
