import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TurnTls } from '../ports/turn-tls.js';

const CHAIN_FILE = 'chain.pem';
const KEY_FILE = 'key.pem';

/** coturn has no running process to signal: the files are in place and load at its next start. */
export class TurnServerNotRunningError extends Error {
  constructor(readonly pidFile: string, detail: string) {
    super(`coturn is not running (${detail}; pid file ${pidFile}): the new certificate loads when it starts`);
    this.name = 'TurnServerNotRunningError';
  }
}

/**
 * coturn's certificate files in the directory its `cert=` and `pkey=` name. The bootstrap makes
 * the directory setgid to coturn's group, so a key written 0640 here is readable by coturn, which
 * re-reads both files on SIGUSR2 as its own unprivileged user (verified with coturn 4.6.1).
 */
export class CoturnTurnTls implements TurnTls {
  constructor(
    private readonly dir: string,
    private readonly pidFile: string,
  ) {}

  async installedChain(): Promise<string | null> {
    try {
      return await readFile(join(this.dir, CHAIN_FILE), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async install(chainPem: string, privateKeyPem: string): Promise<void> {
    // Each file replaced whole (rename), the key first: coturn never reads half a file, and a
    // reload between the two renames still finds a key for the chain it had.
    await this.replace(KEY_FILE, privateKeyPem, 0o640);
    await this.replace(CHAIN_FILE, chainPem, 0o644);
    process.kill(await this.coturnPid(), 'SIGUSR2');
  }

  private async replace(name: string, content: string, mode: number): Promise<void> {
    const path = join(this.dir, name);
    await writeFile(`${path}.new`, content, { mode });
    await rename(`${path}.new`, path);
  }

  /** The pid in coturn's pid file, checked to be a turnserver: a stale pid may be anyone's now. */
  private async coturnPid(): Promise<number> {
    const text = await readFile(this.pidFile, 'utf8').catch(() => '');
    const pid = Number(text.trim());
    if (!Number.isInteger(pid) || pid <= 1) throw new TurnServerNotRunningError(this.pidFile, 'no pid');
    const command = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    if (command.trim() !== 'turnserver') throw new TurnServerNotRunningError(this.pidFile, `pid ${pid} is not turnserver`);
    return pid;
  }
}
