import nodemailer from 'nodemailer';
import type { Mailer, MailMessage } from './mailer.js';

/** Bounds on one delivery, so a stalled relay never keeps a message (or a shutdown) waiting long. */
const SMTP_TIMEOUT_MS = 10_000;

/**
 * Delivers through an SMTP relay named by URL (smtp://user:pass@host:587 upgrades with STARTTLS
 * when the relay offers it; smtps:// is TLS from the start). One pooled connection is reused.
 */
export function createSmtpMailer(smtpUrl: string, from: string): Mailer {
  const url = new URL(smtpUrl);
  const transport = nodemailer.createTransport({
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port) || (url.protocol === 'smtps:' ? 465 : 587),
    secure: url.protocol === 'smtps:',
    ...(url.username ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } } : {}),
    pool: true,
    maxConnections: 1,
    connectionTimeout: SMTP_TIMEOUT_MS,
    greetingTimeout: SMTP_TIMEOUT_MS,
    socketTimeout: SMTP_TIMEOUT_MS,
  });
  return {
    async send(message: MailMessage) {
      await transport.sendMail({ from, to: message.to, subject: message.subject, text: message.text });
    },
    close() {
      transport.close();
    },
  };
}
