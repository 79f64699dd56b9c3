import fp from 'fastify-plugin';
import { SecretSealer } from '../../../worker/src/crypto/secret-sealer.js';

declare module 'fastify' {
  interface FastifyInstance {
    secrets: SecretSealer;
  }
}

/** Customers' credentials only: the platform's keys (ACME account, TLS) are sealed under a keyring the API never gets. */
export const secretsPlugin = fp<{ keyring: string }>(
  (app, options, done) => {
    app.decorate('secrets', SecretSealer.fromKeyrings({ credentials: options.keyring }));
    done();
  },
  { name: 'parley-secrets', fastify: '5.x' },
);
