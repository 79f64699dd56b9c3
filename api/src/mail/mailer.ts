/** One plain-text mail to one person. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/** The port account mail goes out through; smtp-mailer.ts is the adapter. */
export interface Mailer {
  /** Resolves once the relay accepted the message; rejects when it refused or was unreachable. */
  send(message: MailMessage): Promise<void>;
  close(): void;
}
