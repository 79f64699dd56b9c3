import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { childExit, exitAfterStreaming, type ChildExit } from './child-exit.js';
import { BackupRepositoryError, type BackupRepository, type RetentionPolicy, type Snapshot } from '../ports/backup-repository.js';

export interface ResticSettings {
  /** Any restic repository: a local path, `s3:…`, `sftp:…`. */
  repository: string;
  password: string;
  /** Bound on one restic command that moves no data (open, list, prune). */
  commandTimeoutMs: number;
  /** PATH to find restic on. */
  childPath: string;
}

/** Bound on a restic command that moves no data (open, list, forget): a remote repository may hang. */
export const RESTIC_COMMAND_TIMEOUT_MS = 120_000;

// restic 0.14 reports these only as text on stderr, and with exit code 1 for all of them.
const WRONG_PASSWORD = /wrong password or no key found/i;
const NO_REPOSITORY = /unable to open config file|Is there a repository at the following location/i;
const UNREACHABLE = /create repository at .* failed|connection refused|no such host|dial tcp|i\/o timeout|permission denied|read-only file system|no space left|unable to open repo|unable to create lock/i;

// restic 0.14 does not wait for a lock: a forget (which locks the whole repository) makes a
// concurrent command fail at once. Such a command is run again a few times, a little later.
const LOCKED = /repository is already locked/i;
const LOCK_RETRIES = 8;
const LOCK_RETRY_DELAY_MS = 500;

/** restic, run as a child process with the repository and its password in its environment only. */
export class ResticBackupRepository implements BackupRepository {
  private opened = false;

  constructor(private readonly settings: ResticSettings) {}

  async open(): Promise<void> {
    // Once open, it stays so: every restic command pays a key derivation, and a repository that
    // goes away later fails the command that needs it.
    if (this.opened) return;
    const config = await this.run(['cat', 'config']);
    if (config.code !== 0) {
      if (WRONG_PASSWORD.test(config.stderr) || !NO_REPOSITORY.test(config.stderr)) throw this.error(config);
      const init = await this.run(['init']);
      if (init.code !== 0) throw this.error(init);
    }
    this.opened = true;
  }

  async backupStream(input: { filename: string; tags: string[]; produce: (sink: Writable) => Promise<void> }) {
    const args = ['backup', '--json', '--host', 'parley', '--stdin', '--stdin-filename', input.filename, ...input.tags.flatMap((tag) => ['--tag', tag])];
    const child = this.spawn(args);
    const finished = childExit(child);
    // A restic that gives up early breaks the pipe: its exit status says why, not the EPIPE.
    child.stdin.on('error', () => undefined);
    try {
      await input.produce(child.stdin);
    } catch (error) {
      // Killed before its input ends, restic saves no snapshot: a failed dump leaves nothing.
      child.kill('SIGTERM');
      const result = await finished;
      await this.run(['unlock']);
      if (result.code !== null && result.code !== 0) throw this.error(result);
      throw error;
    }
    child.stdin.end();
    const result = await finished;
    if (result.code !== 0) throw this.error(result);
    const summary = result.stdout
      .split('\n')
      .filter((line) => line.includes('"summary"'))
      .map((line) => JSON.parse(line) as { snapshot_id?: string; total_bytes_processed?: number; data_added?: number })
      .at(-1);
    if (!summary?.snapshot_id) throw new BackupRepositoryError('failed', 'restic finished the backup without naming its snapshot');
    return { snapshotId: summary.snapshot_id, bytes: summary.total_bytes_processed ?? 0, bytesAdded: summary.data_added ?? 0 };
  }

  async snapshots(tag: string): Promise<Snapshot[]> {
    const listed = await this.run(['snapshots', '--json', '--tag', tag]);
    if (listed.code !== 0) throw this.error(listed);
    const rows = JSON.parse(listed.stdout || '[]') as { id: string; time: string; tags?: string[] }[];
    return rows.map((row) => ({ id: row.id, time: new Date(row.time), tags: row.tags ?? [] })).sort((a, b) => a.time.getTime() - b.time.getTime());
  }

  async dump(input: { snapshotId: string; filename: string; consume: (source: Readable) => Promise<void> }): Promise<void> {
    const child = this.spawn(['dump', input.snapshotId, `/${input.filename}`]);
    child.stdin.end();
    // Read from the start: a consumer that first prepares (a new container) would otherwise find a
    // small dump's output gone with the exited child. The pipe holds restic back, not the data.
    const output = child.stdout.pipe(new PassThrough());
    const exited = await exitAfterStreaming(child, () => input.consume(output));
    if (exited.code !== 0) throw this.error(exited);
  }

  async forget(snapshotIds: string[]): Promise<void> {
    if (snapshotIds.length === 0) return;
    const forgot = await this.run(['forget', '--prune', ...snapshotIds]);
    if (forgot.code !== 0) throw this.error(forgot);
  }

  async prune(tag: string, keep: RetentionPolicy): Promise<void> {
    const last = keep.last ? ['--keep-last', String(keep.last)] : [];
    const forgot = await this.run(['forget', '--tag', tag, ...last, '--keep-daily', String(keep.daily), '--keep-weekly', String(keep.weekly), '--prune']);
    if (forgot.code !== 0) throw this.error(forgot);
  }

  private spawn(args: string[]) {
    return spawn('restic', ['--no-cache', ...args], {
      env: { PATH: this.settings.childPath, RESTIC_REPOSITORY: this.settings.repository, RESTIC_PASSWORD: this.settings.password },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  }

  private async run(args: string[]): Promise<ChildExit> {
    for (let attempt = 1; ; attempt++) {
      const child = this.spawn(args);
      child.stdin.end();
      const result = await childExit(child, { timeoutMs: this.settings.commandTimeoutMs });
      if (result.code === 0 || !LOCKED.test(result.stderr) || attempt >= LOCK_RETRIES) return result;
      await sleep(LOCK_RETRY_DELAY_MS * attempt);
    }
  }

  private error(result: ChildExit): BackupRepositoryError {
    const said = result.stderr.trim().split('\n').slice(-3).join(' ').slice(0, 400) || `exit code ${result.code}`;
    if (WRONG_PASSWORD.test(result.stderr)) {
      return new BackupRepositoryError('wrong_password', `the backup repository ${this.settings.repository} does not open with BACKUP_PASSWORD: ${said}`);
    }
    if (UNREACHABLE.test(result.stderr) || NO_REPOSITORY.test(result.stderr)) {
      return new BackupRepositoryError('unreachable', `the backup repository ${this.settings.repository} cannot be reached: ${said}`);
    }
    return new BackupRepositoryError('failed', `restic failed on ${this.settings.repository}: ${said}`);
  }
}
