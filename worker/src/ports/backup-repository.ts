import type { Readable, Writable } from 'node:stream';

/** One snapshot in the repository: what `restic snapshots` lists. */
export interface Snapshot {
  id: string;
  time: Date;
  tags: string[];
}

/** How many snapshots of one tag to keep, by period (restic forget --keep-*). */
export interface RetentionPolicy {
  /** The most recent ones, whatever their day (a plan backing up several times a day). */
  last?: number;
  daily: number;
  weekly: number;
}

export type BackupRepositoryErrorKind = 'wrong_password' | 'unreachable' | 'failed';

/** A repository that cannot be used, with a stable kind: readers match on it, never on the text. */
export class BackupRepositoryError extends Error {
  constructor(
    readonly kind: BackupRepositoryErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'BackupRepositoryError';
  }
}

/** Encrypted, deduplicated storage for backups: restic, on a local directory, S3 or SFTP by configuration. */
export interface BackupRepository {
  /** Opens the repository, creating it when there is none; a wrong password or no access throws. */
  open(): Promise<void>;
  /**
   * Stores what `produce` writes as one file of a new snapshot. The snapshot is kept only when
   * `produce` resolves: a producer that failed leaves no half file behind. The id is the one the
   * backup reports (restic 0.14: the short form, a prefix of the id `snapshots` lists).
   */
  backupStream(input: { filename: string; tags: string[]; produce: (sink: Writable) => Promise<void> }): Promise<{ snapshotId: string; bytes: number; bytesAdded: number }>;
  snapshots(tag: string): Promise<Snapshot[]>;
  /** Reads one file of a snapshot into `consume`. */
  dump(input: { snapshotId: string; filename: string; consume: (source: Readable) => Promise<void> }): Promise<void>;
  /** Forgets these snapshots and frees their data. */
  forget(snapshotIds: string[]): Promise<void>;
  /** Forgets the snapshots of `tag` beyond the policy and frees their data. */
  prune(tag: string, keep: RetentionPolicy): Promise<void>;
}
