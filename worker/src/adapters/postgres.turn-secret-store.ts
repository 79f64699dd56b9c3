import pg from 'pg';
import type { TurnSecret, TurnSecretStore } from '../ports/turn-secrets.js';

export interface PostgresTurnSecretStoreOptions {
  /** The database coturn reads (`--psql-userdb`), as a role that may insert and delete secrets. */
  databaseUrl: string;
  /** coturn's realm: it reads the secrets of its own realm only. */
  realm: string;
  /** Bound on connecting and on each statement. */
  timeoutMs: number;
}

/**
 * coturn's `turn_secret` table, with the owner (server id) and version of each row beside
 * coturn's own columns (realm, value), so a server's secrets can be found and removed.
 */
export class PostgresTurnSecretStore implements TurnSecretStore {
  private readonly pool: pg.Pool;

  constructor(private readonly options: PostgresTurnSecretStoreOptions) {
    this.pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: 2,
      connectionTimeoutMillis: options.timeoutMs,
      query_timeout: options.timeoutMs,
      statement_timeout: options.timeoutMs,
      idleTimeoutMillis: 30_000,
    });
    // An idle connection the server closed: the next query opens another.
    this.pool.on('error', () => undefined);
  }

  async put(serverId: string, secret: TurnSecret): Promise<void> {
    await this.pool.query('INSERT INTO turn_secret (realm, value, server_id, version) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
      this.options.realm,
      secret.value,
      serverId,
      secret.version,
    ]);
  }

  async removeOlder(serverId: string, version: number): Promise<number> {
    const result = await this.pool.query('DELETE FROM turn_secret WHERE server_id = $1 AND version < $2', [serverId, version]);
    return result.rowCount ?? 0;
  }

  async remove(serverId: string): Promise<number> {
    const result = await this.pool.query('DELETE FROM turn_secret WHERE server_id = $1', [serverId]);
    return result.rowCount ?? 0;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
