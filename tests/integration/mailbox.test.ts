import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { passwordResetMail } from '../../api/src/mail/account-mail.js';
import { createSmtpMailer } from '../../api/src/mail/smtp-mailer.js';
import { freePort } from '../support/redis-server.js';
import { childProcessEnv } from '../support/test-env.js';
import { until } from '../support/until.js';

// The sandbox's mailbox as ./parley starts it: a process the API's SMTP adapter delivers to.
const stateDir = mkdtempSync(join(tmpdir(), 'parley-mailbox-'));
let mailbox: ChildProcess | undefined;

function startMailbox(smtpUrl: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/mailbox/mailbox.ts'], {
    env: { ...childProcessEnv(), SMTP_URL: smtpUrl, PARLEY_STATE_DIR: stateDir },
  });
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

afterAll(() => {
  mailbox?.kill('SIGTERM');
  rmSync(stateDir, { recursive: true, force: true });
});

describe('the sandbox mailbox (infra/mailbox)', () => {
  it('receives what the API sends over SMTP and writes it to $PARLEY_STATE_DIR/mailbox as an .eml file', async () => {
    const smtpUrl = `smtp://127.0.0.1:${await freePort()}`;
    const started = startMailbox(smtpUrl);
    mailbox = started.child;
    await until('the mailbox listening', () => Promise.resolve(started.output().includes('listening') || null), 20_000);

    const mailer = createSmtpMailer(smtpUrl, 'Parley <no-reply@parley.test>');
    const token = 'A'.repeat(43);
    await mailer.send(passwordResetMail({ smtpUrl, from: '', publicBaseUrl: 'http://127.0.0.1:8080' }, 'ada@example.com', token, 60));
    mailer.close();

    const file = await until('an .eml file', () => Promise.resolve(readdirSync(join(stateDir, 'mailbox')).find((name) => name.endsWith('.eml'))), 10_000);
    const eml = readFileSync(join(stateDir, 'mailbox', file), 'utf8');
    expect(eml).toMatch(/^To: ada@example\.com$/m);
    expect(eml).toMatch(/^Subject: Reset your Parley password$/m);
    expect(eml.replace(/=\r?\n/g, '').replace(/=3D/g, '=')).toContain(`http://127.0.0.1:8080/reset-password#token=${token}`);
  }, 40_000);

  it('refuses to stand in for a relay that is not on this machine', async () => {
    const started = startMailbox('smtp://smtp.example.com:587');
    expect(await started.exited).not.toBe(0);
    expect(started.output()).toMatch(/only stands in for a relay on loopback/);
  }, 20_000);
});
