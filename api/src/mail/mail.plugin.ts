import fp from 'fastify-plugin';
import type { MailConfig } from '../config.js';
import { MailOutbox } from './mail-outbox.js';
import { createSmtpMailer } from './smtp-mailer.js';

declare module 'fastify' {
  interface FastifyInstance {
    mail: MailOutbox;
  }
}

export const mailPlugin = fp<{ mail: MailConfig }>(
  (app, options, done) => {
    const outbox = new MailOutbox(createSmtpMailer(options.mail.smtpUrl, options.mail.from), app.log);
    app.decorate('mail', outbox);
    app.addHook('onClose', () => outbox.close());
    done();
  },
  { name: 'parley-mail', fastify: '5.x' },
);
