import fp from 'fastify-plugin';
import { Redis } from 'ioredis';
import { describeError } from '../../../worker/src/contracts/dependency-check.js';

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis;
  }
}

export interface RedisPluginOptions {
  redisUrl: string;
  /** A client the caller owns (and disconnects); without one the app opens and closes its own. */
  redis?: Redis | undefined;
}

/**
 * The client options the API needs: while Redis is down commands fail at once (and the request
 * gets a 503) instead of queueing until the client times out.
 */
export function createApiRedis(url: string): Redis {
  return new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
}

export const redisPlugin = fp<RedisPluginOptions>(
  async (app, options) => {
    if (options.redis) {
      app.decorate('redis', options.redis);
      return;
    }
    const redis = createApiRedis(options.redisUrl);
    redis.on('error', (error) => app.log.debug({ err: describeError(error) }, 'redis connection error'));
    app.decorate('redis', redis);
    app.addHook('onClose', () => redis.disconnect());
    // The app still starts while Redis is down: readiness reports it and requests needing it get 503.
    await redis.connect().catch((error: unknown) => app.log.warn({ err: describeError(error) }, 'redis not reachable yet; retrying'));
  },
  { name: 'parley-redis', fastify: '5.x' },
);
