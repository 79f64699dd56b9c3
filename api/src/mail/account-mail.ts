import type { MailConfig } from '../config.js';
import { describeDuration } from '../auth/attempt-limiter.js';
import type { MailMessage } from './mailer.js';

// The token rides in the fragment: browsers never send it to a server, so no access log or
// proxy along the way records it; the dashboard page reads it and posts it to the API.
const link = (mail: MailConfig, page: string, token: string) => `${mail.publicBaseUrl}/${page}#token=${token}`;

export function verificationMail(mail: MailConfig, to: string, token: string, ttlMinutes: number): MailMessage {
  return {
    to,
    subject: 'Confirm your email for Parley',
    text: [
      'Confirm that this address belongs to your Parley account by opening this link:',
      '',
      link(mail, 'verify-email', token),
      '',
      `The link works once, for ${describeDuration(ttlMinutes * 60)}.`,
      'If you did not sign up for Parley, ignore this mail.',
    ].join('\n'),
  };
}

export function passwordResetMail(mail: MailConfig, to: string, token: string, ttlMinutes: number): MailMessage {
  return {
    to,
    subject: 'Reset your Parley password',
    text: [
      'Someone asked to reset the password of your Parley account. To choose a new one, open:',
      '',
      link(mail, 'reset-password', token),
      '',
      `The link works once, for ${describeDuration(ttlMinutes * 60)}. Setting a new password logs out every session and revokes your API tokens.`,
      'If it was not you, ignore this mail: your password stays as it is.',
    ].join('\n'),
  };
}
