import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../../worker/src/config.js';
import { acmeAccountKeyContext, adminSecretContext, certificateKeyContext } from '../../worker/src/contracts/secret-contexts.js';
import { SecretSealer } from '../../worker/src/crypto/secret-sealer.js';
import { startApiHarness, type ApiHarness } from '../support/api-harness.js';

describe('which process holds which keys', () => {
  let harness: ApiHarness;
  const worker = SecretSealer.fromKeyrings(loadWorkerConfig().keyrings);

  beforeAll(async () => {
    // The API built from the same environment as the worker, PLATFORM_KEYRING included.
    harness = await startApiHarness();
  });

  afterAll(async () => {
    await harness.close();
  });

  /** Seals through the worker, stores the row and reads it back, as a later job or request would. */
  const stored = async (...args: Parameters<SecretSealer['seal']>) => {
    const row = await harness.prisma.encryptedSecret.create({ data: worker.seal(...args) });
    return harness.prisma.encryptedSecret.findUniqueOrThrow({ where: { id: row.id } });
  };

  it('the API opens a customer credential the worker sealed, but no certificate or ACME account key', async () => {
    const serverId = randomUUID();
    const directoryUrl = 'https://acme.example.test/dir';
    const admin = await stored('admin_password', 'admin password', adminSecretContext(serverId));
    const certificateKey = await stored('certificate_key', 'certificate key PEM', certificateKeyContext(serverId));
    const accountKey = await stored('acme_account_key', 'account key PEM', acmeAccountKeyContext(directoryUrl));

    expect([admin.keyring, certificateKey.keyring, accountKey.keyring]).toEqual(['credentials', 'platform', 'platform']);
    expect(harness.app.secrets.open(admin, adminSecretContext(serverId))).toBe('admin password');
    expect(() => harness.app.secrets.open(certificateKey, certificateKeyContext(serverId))).toThrow('does not hold the platform keyring');
    expect(() => harness.app.secrets.open(accountKey, acmeAccountKeyContext(directoryUrl))).toThrow('does not hold the platform keyring');
    expect(() => harness.app.secrets.seal('certificate_key', 'forged', certificateKeyContext(serverId))).toThrow('does not hold the platform keyring');

    expect(worker.open(certificateKey, certificateKeyContext(serverId))).toBe('certificate key PEM');
    expect(worker.open(accountKey, acmeAccountKeyContext(directoryUrl))).toBe('account key PEM');
    expect(worker.open(admin, adminSecretContext(serverId))).toBe('admin password');
  });

  it('the platform keyring is not a relabelled credentials keyring: the API cannot open a platform row marked as its own', async () => {
    const serverId = randomUUID();
    const certificateKey = await stored('certificate_key', 'certificate key PEM', certificateKeyContext(serverId));
    expect(() => harness.app.secrets.open({ ...certificateKey, keyring: 'credentials' }, certificateKeyContext(serverId))).toThrow();
  });
});
