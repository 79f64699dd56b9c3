import fp from 'fastify-plugin';
import pg from 'pg';

/** The channel the database's triggers notify, with a server's id, when its timeline or state changes. */
export const SERVER_CHANGES_CHANNEL = 'parley_server_changes';
const RECONNECT_DELAY_MS = 1_000;

declare module 'fastify' {
  interface FastifyInstance {
    serverChanges: ServerChanges;
  }
}

/**
 * One Postgres connection per API process LISTENs for server changes and wakes the live streams
 * watching each server, so an open timeline costs the database a query when its server changed,
 * not two a second. After a (re)connect every stream is woken: a change may have come meanwhile.
 */
export class ServerChanges {
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly watchers = new Map<string, Set<() => void>>();

  constructor(
    private readonly database: { url: string; connectTimeoutMs: number },
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Calls `wake` whenever the server changes (and after a reconnect); returns the unsubscribe. */
  subscribe(serverId: string, wake: () => void): () => void {
    const set = this.watchers.get(serverId) ?? new Set();
    set.add(wake);
    this.watchers.set(serverId, set);
    this.ensureListening();
    return () => {
      set.delete(wake);
      if (set.size === 0) this.watchers.delete(serverId);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private ensureListening(): void {
    if (this.closed || this.client || this.connecting) return;
    this.connecting = this.listen().finally(() => {
      this.connecting = undefined;
    });
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.database.url, connectionTimeoutMillis: this.database.connectTimeoutMs });
    client.on('notification', (message) => {
      if (message.payload) for (const wake of this.watchers.get(message.payload) ?? []) wake();
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, undefined));
    try {
      await client.connect();
      await client.query(`LISTEN ${SERVER_CHANGES_CHANNEL}`);
    } catch (error) {
      this.onError(error);
      await client.end().catch(() => undefined);
      this.scheduleReconnect();
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    for (const set of this.watchers.values()) for (const wake of set) wake();
  }

  private lost(client: pg.Client, error: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    if (error !== undefined) this.onError(error);
    client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retry || this.watchers.size === 0) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.ensureListening();
    }, RECONNECT_DELAY_MS);
    this.retry.unref();
  }
}

export const serverChangesPlugin = fp(
  (app, _options, done) => {
    const database = { url: app.config.databaseUrl, connectTimeoutMs: app.config.databaseConnectTimeoutMs };
    const changes = new ServerChanges(database, (error) => app.log.warn({ err: error }, 'server changes: listening connection failed'));
    app.decorate('serverChanges', changes);
    app.addHook('onClose', () => changes.close());
    done();
  },
  { name: 'parley-server-changes', fastify: '5.x' },
);
