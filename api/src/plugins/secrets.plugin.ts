import fp from 'fastify-plugin';
import { SecretBox } from '../../../worker/src/crypto/secret-box.js';

declare module 'fastify' {
  interface FastifyInstance {
    secrets: SecretBox;
  }
}

export const secretsPlugin = fp<{ keyring: string }>(
  (app, options, done) => {
    app.decorate('secrets', SecretBox.fromKeyring(options.keyring));
    done();
  },
  { name: 'parley-secrets', fastify: '5.x' },
);
