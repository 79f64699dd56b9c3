/** A wake-up call a loop can wait for, with a bound: a wake that comes while it works is kept. */
export class Wakeup {
  private woken = false;
  private resolve: (() => void) | undefined;

  wake(): void {
    this.woken = true;
    this.resolve?.();
  }

  /** Resolves at the next wake (at once if one came since the last wait) or after `timeoutMs`. */
  next(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.resolve = undefined;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      if (this.woken) done();
      else this.resolve = done;
    });
  }
}
