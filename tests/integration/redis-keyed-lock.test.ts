import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisKeyedLock } from '../../worker/src/adapters/redis-keyed-lock.js';
import { RedisServer } from '../support/redis-server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the DNS zone lock shared by worker processes', () => {
  let server: RedisServer;
  const clients: Redis[] = [];
  const client = () => {
    const redis = new Redis(server.url, { maxRetriesPerRequest: null });
    clients.push(redis);
    return redis;
  };

  beforeAll(async () => {
    server = await RedisServer.start();
  });

  afterAll(async () => {
    for (const redis of clients) redis.disconnect();
    await server.stop();
  });

  it('never lets two workers change one zone at once, and lets different zones run together', async () => {
    const workers = [new RedisKeyedLock(client()), new RedisKeyedLock(client())];
    const active = new Map<string, number>();
    const peak = new Map<string, number>();
    const task = (zone: string) => async () => {
      active.set(zone, (active.get(zone) ?? 0) + 1);
      peak.set(zone, Math.max(peak.get(zone) ?? 0, active.get(zone) ?? 0));
      await sleep(5);
      active.set(zone, (active.get(zone) ?? 0) - 1);
    };
    let overlapAcrossZones = false;
    const watcher = setInterval(() => {
      if ((active.get('a.test') ?? 0) > 0 && (active.get('b.test') ?? 0) > 0) overlapAcrossZones = true;
    }, 1);
    await Promise.all(
      Array.from({ length: 24 }, (_, i) => workers[i % 2]!.run(i % 3 === 0 ? 'b.test' : 'a.test', task(i % 3 === 0 ? 'b.test' : 'a.test'))),
    );
    clearInterval(watcher);
    expect(peak.get('a.test')).toBe(1);
    expect(peak.get('b.test')).toBe(1);
    expect(overlapAcrossZones).toBe(true);
  });

  it('waits out a holder that died, and never releases a lock it no longer holds', async () => {
    const redis = client();
    await redis.set('parley:dns-zone-lock:dead.test', 'a-dead-worker', 'PX', 300);
    const started = Date.now();
    await new RedisKeyedLock(client()).run('dead.test', async () => {
      // Our lease ran out and another worker took the key: our release must leave it alone.
      await redis.set('parley:dns-zone-lock:dead.test', 'someone-else');
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(await redis.get('parley:dns-zone-lock:dead.test')).toBe('someone-else');
  });

  it('gives up with a clear error when the zone stays locked', async () => {
    await client().set('parley:dns-zone-lock:stuck.test', 'held', 'PX', 10_000);
    const lock = new RedisKeyedLock(client(), { waitMs: 200 });
    await expect(lock.run('stuck.test', () => Promise.resolve())).rejects.toThrow('another worker has held the dns-zone lock of stuck.test');
  });
});
