import { startSmtpReceiver, type ReceivedMail } from '../../infra/mailbox/smtp-receiver.js';
import { until } from './until.js';

/** A received message, decoded enough to read: the subject and the plain-text body. */
export interface Mail {
  to: string[];
  subject: string;
  text: string;
}

function decodeQuotedPrintable(body: string): string {
  const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => `%${hex}`);
  return decodeURIComponent(bytes.replace(/%(?![0-9A-F]{2})/g, '%25'));
}

function parse(mail: ReceivedMail): Mail {
  const split = mail.raw.search(/\r?\n\r?\n/);
  const head = mail.raw.slice(0, split).replace(/\r?\n[ \t]+/g, ' ');
  const body = mail.raw.slice(split).replace(/^\r?\n\r?\n/, '');
  const header = (name: string) => new RegExp(`^${name}: (.*)$`, 'im').exec(head)?.[1]?.trim() ?? '';
  const text = /quoted-printable/i.test(header('Content-Transfer-Encoding')) ? decodeQuotedPrintable(body) : body;
  return { to: mail.to, subject: header('Subject'), text: text.replace(/\r\n/g, '\n') };
}

/**
 * A real SMTP server in the test process (the one the sandbox's mailbox runs), on a free loopback
 * port: the API delivers to it over SMTP, and tests read what it really received.
 */
export class TestMailbox {
  private constructor(
    private readonly received: Mail[],
    readonly url: string,
    readonly close: () => Promise<void>,
  ) {}

  static async start(): Promise<TestMailbox> {
    const received: Mail[] = [];
    const receiver = await startSmtpReceiver({ host: '127.0.0.1', port: 0, onMessage: (mail) => void received.push(parse(mail)) });
    return new TestMailbox(received, `smtp://127.0.0.1:${receiver.port}`, () => receiver.close());
  }

  /** Every message received for this address so far, oldest first. */
  to(address: string): Mail[] {
    return this.received.filter((mail) => mail.to.includes(address.toLowerCase()));
  }

  /** Waits for the `count`th message to this address whose subject matches. */
  async waitFor(address: string, subject: RegExp, count = 1): Promise<Mail> {
    const nth = () => Promise.resolve(this.to(address).filter((mail) => subject.test(mail.subject))[count - 1]);
    return until(`mail ${count} "${subject.source}" to ${address}`, nth, 10_000);
  }
}

/** The link to a dashboard page in a mail, and the token in its fragment. */
export function linkIn(mail: Mail, page: string): { link: string; token: string } {
  const match = new RegExp(`(https?://\\S+/${page}#token=([A-Za-z0-9_-]{43}))`).exec(mail.text);
  if (!match?.[1] || !match[2]) throw new Error(`no /${page} link in the mail "${mail.subject}":\n${mail.text}`);
  return { link: match[1], token: match[2] };
}
