import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const required = {
  POSTGRES_PASSWORD: 'pw',
  PLATFORM_ZONE: 'chat.example.com',
  SECRETS_KEYRING: `1:${Buffer.alloc(32).toString('base64')}`,
  PLATFORM_KEYRING: `1:${Buffer.alloc(32, 1).toString('base64')}`,
  BACKUP_REPOSITORY: 's3:s3.example.com/parley-backups',
  BACKUP_PASSWORD: 'a long enough repository password',
  ACME_CONTACT_EMAIL: 'ops@example.com',
  NODE_PUBLIC_ADDRESS: '192.0.2.10',
};

// docker.io ships no Compose plugin; Debian's docker-compose (v1) is installed by the bootstrap.
const compose = (env: Record<string, string>, ...args: string[]) =>
  run('docker-compose', ['-f', 'docker-compose.yml', ...args], { env: { PATH: '/usr/bin:/bin:/usr/local/bin', ...env }, timeout: 60_000 });

describe('docker-compose.yml', () => {
  it('is accepted by Compose, with the sandbox profile too', async () => {
    const { stdout } = await compose(required, 'config');
    expect(stdout).toContain('parley/platform:local');
    expect(stdout).toMatch(/127\.0\.0\.1:8080/);
    // The worker installs the tenant firewall in the host's network namespace.
    expect(stdout).toMatch(/worker:[\s\S]*network_mode: host/);
    expect(stdout).toContain('NET_ADMIN');
    const services = await compose(required, '--profile', 'sandbox', 'config', '--services');
    expect(services.stdout.split('\n').filter(Boolean).sort()).toEqual(['api', 'migrate', 'pebble', 'postgres', 'powerdns', 'redis', 'worker']);
  });

  it('gives the platform keyring to the worker only, never to the API', async () => {
    const { stdout } = await compose(required, 'config');
    // `config` prints each service as a block indented by two spaces.
    const service = (name: string) => stdout.match(new RegExp(`^  ${name}:\\n((?:   .*\\n|\\n)*)`, 'm'))?.[1] ?? '';
    expect(service('worker')).toContain(`PLATFORM_KEYRING: ${required.PLATFORM_KEYRING}`);
    expect(service('api')).toContain('SECRETS_KEYRING');
    expect(service('api')).not.toContain('PLATFORM_KEYRING');
    expect(service('worker')).toContain(`BACKUP_PASSWORD: ${required.BACKUP_PASSWORD}`);
    expect(service('api')).not.toContain('BACKUP_PASSWORD');
  });

  it('refuses to start without a required setting and names it', async () => {
    const { POSTGRES_PASSWORD: _omitted, ...rest } = required;
    const failure = await compose(rest, 'config', '-q').then(
      () => null,
      (error: { stderr: string }) => error,
    );
    expect(failure?.stderr).toContain('set POSTGRES_PASSWORD in .env');
  });
});
