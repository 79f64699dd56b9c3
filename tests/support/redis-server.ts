import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free loopback TCP port, picked by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForPort(port: number, open: boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const isOpen = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (isOpen === open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} did not become ${open ? 'open' : 'closed'} within ${timeoutMs} ms`);
}

/**
 * A real redis-server owned by one test, on its own port, so a test can stop and restart it
 * without disturbing the Redis every other test and the platform share.
 */
export class RedisServer {
  private process: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'parley-redis-'));
  /** Run at the end of each resume, so "resumed" means its clients are back too, not only the port. */
  private readonly afterResume: (() => Promise<void>)[] = [];

  private constructor(
    readonly port: number,
    private readonly persistent: boolean,
  ) {}

  /** `persistent`: an append-only file, as the platform's own Redis has (infra/bootstrap/services.sh). */
  static async start(options: { persistent?: boolean } = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), options.persistent ?? false);
    await server.resume();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async resume(): Promise<void> {
    this.process = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', this.persistent ? 'yes' : 'no', '--dir', this.dir, '--maxmemory-policy', 'noeviction'],
      { stdio: 'ignore' },
    );
    await waitForPort(this.port, true, 10_000);
    for (const wait of this.afterResume) await wait();
  }

  /** `wait` runs after every later resume (see afterResume). */
  onResume(wait: () => Promise<void>): void {
    this.afterResume.push(wait);
  }

  /** Dies at once (SIGKILL), as a crashed Redis does. */
  pause(): Promise<void> {
    return this.end('SIGKILL');
  }

  /** A clean shutdown (SIGTERM: Redis writes out what it holds), as a restart of the service does. */
  shutdown(): Promise<void> {
    return this.end('SIGTERM');
  }

  private async end(signal: NodeJS.Signals): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
    await waitForPort(this.port, false, 10_000);
  }

  async stop(): Promise<void> {
    await this.pause();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
