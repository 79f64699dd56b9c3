// The sandbox's stand-in for a mail relay (./parley starts it): receives on loopback what the API
// sends and writes each message to $PARLEY_STATE_DIR/mailbox/ as an .eml file to open or grep.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { ConfigError } from '../../worker/src/contracts/env-fields.js';
import { loadMailboxConfig } from './mailbox.config.js';
import { startSmtpReceiver } from './smtp-receiver.js';

async function main(): Promise<void> {
  const config = loadMailboxConfig();
  await mkdir(config.dir, { recursive: true, mode: 0o700 });
  const receiver = await startSmtpReceiver({
    host: config.host,
    port: config.port,
    async onMessage(mail) {
      const file = `${config.dir}/${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}.eml`;
      await writeFile(file, mail.raw, { mode: 0o600 });
      process.stdout.write(`mailbox: to ${mail.to.join(', ')} -> ${file}\n`);
    },
  });
  process.stdout.write(`mailbox: listening on ${config.host}:${receiver.port}, writing to ${config.dir}\n`);
  const stop = () => void receiver.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`parley mailbox: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof ConfigError ? 78 : 1);
});
