import { SMTPServer } from 'smtp-server';

/** One message as the receiver got it: the envelope's recipients and the raw RFC 5322 text. */
export interface ReceivedMail {
  to: string[];
  raw: string;
}

/** Messages larger than this are refused: account mail is a few hundred bytes. */
const MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * A real SMTP server on loopback that accepts every message for anyone, without authentication or
 * STARTTLS (it never leaves the machine). The sandbox's mailbox and the tests both receive with it.
 */
export async function startSmtpReceiver(
  options: { host: string; port: number; onMessage: (mail: ReceivedMail) => Promise<void> | void },
): Promise<{ port: number; close(): Promise<void> }> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    size: MAX_MESSAGE_BYTES,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const to = session.envelope.rcptTo.map((address) => address.address.toLowerCase());
        Promise.resolve(options.onMessage({ to, raw: Buffer.concat(chunks).toString('utf8') })).then(
          () => callback(),
          (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
        );
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
