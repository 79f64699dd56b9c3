import { spawn, type ChildProcess } from 'node:child_process';
import { childProcessEnv } from './test-env.js';

/**
 * A real entry point (the worker's or the API's) as its own process, so a test can run several
 * side by side or SIGKILL one mid-step.
 */
export class PlatformProcess {
  private readonly lines: string[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      this.lines.push(...parts);
      for (const wake of this.waiters) wake();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static worker(env: Record<string, string>): PlatformProcess {
    return PlatformProcess.start('worker/src/main.ts', env);
  }

  static api(env: Record<string, string>): PlatformProcess {
    return PlatformProcess.start('api/src/main.ts', env);
  }

  private static start(entry: string, env: Record<string, string>): PlatformProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      env: { ...childProcessEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new PlatformProcess(child);
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('the process did not start');
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get output(): string {
    return this.lines.join('\n');
  }

  /** Resolves with the first output line matching, or rejects after the timeout or on exit. */
  async waitForLine(pattern: RegExp, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.lines.find((l) => pattern.test(l));
      if (line) return line;
      if (this.child.exitCode !== null) throw new Error(`process exited (${this.child.exitCode}) before printing ${pattern}:\n${this.output}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`process did not print ${pattern} within ${timeoutMs} ms:\n${this.output}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, 250));
        this.waiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.waiters.clear();
    }
  }

  /** Resolves with the exit code once the process exits by itself; rejects after the timeout. */
  async exitCode(timeoutMs: number): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`process did not exit within ${timeoutMs} ms:\n${this.output}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** As if the machine lost power: no shutdown hooks, no lock release. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}
