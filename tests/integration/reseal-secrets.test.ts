import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESEAL_SECRETS_JOB } from '../../worker/src/contracts/provisioning.js';
import { acmeAccountKeyContext, adminSecretContext, certificateKeyContext, totpSecretContext } from '../../worker/src/contracts/secret-contexts.js';
import { inviteUriContext, xmppUserPasswordContext } from '../../worker/src/contracts/xmpp-user-jobs.js';
import { SecretBox } from '../../worker/src/crypto/secret-box.js';
import { wipeSecrets } from '../../worker/src/crypto/sealed-secret.js';
import { SecretSealer } from '../../worker/src/crypto/secret-sealer.js';
import { resealStaleSecrets } from '../../worker/src/housekeeping/reseal-secrets.js';
import type { SecretPurpose } from '../../prisma/generated/client/enums.js';
import { ProvisioningHarness } from '../support/provisioning-harness.js';
import { until } from '../support/until.js';

const key = () => randomBytes(32).toString('base64');

describe('key rotation re-seals secrets under the newest keys', () => {
  let harness: ProvisioningHarness;

  beforeAll(async () => {
    harness = await ProvisioningHarness.create(42_000);
  });

  afterAll(async () => {
    await harness.close();
  });

  /**
   * One secret of each kind, all sealed the way they were before the platform keyring existed:
   * under version 1 of the credentials keyring. Returns each row's id, associated data and plaintext,
   * and a cleanup that wipes them and removes their server, which the worker should not provision.
   */
  async function legacySecrets(credentialsV1: string) {
    const legacy = SecretBox.fromKeyring(credentialsV1);
    const sealed = (purpose: SecretPurpose, plaintext: string, context: string) => {
      const s = legacy.seal(plaintext, context);
      return { purpose, keyring: 'credentials' as const, keyVersion: s.keyVersion, iv: Uint8Array.from(s.iv), ciphertext: Uint8Array.from(s.ciphertext), authTag: Uint8Array.from(s.authTag) };
    };
    const { serverId, domain } = await harness.placeOrder();
    const directoryUrl = `https://acme-${randomBytes(4).toString('hex')}.example.test/dir`;
    const credential = await harness.prisma.serverCredential.create({
      data: { server: { connect: { id: serverId } }, jid: `admin@${domain}`, secret: { create: sealed('admin_password', 'admin password', adminSecretContext(serverId)) } },
    });
    const account = await harness.prisma.acmeAccount.create({
      data: { directoryUrl, key: { create: sealed('acme_account_key', 'account key PEM', acmeAccountKeyContext(directoryUrl)) } },
    });
    const certificate = await harness.prisma.certificate.create({
      data: { server: { connect: { id: serverId } }, names: [domain], acmeAccount: { connect: { id: account.id } }, privateKey: { create: sealed('certificate_key', 'certificate key PEM', certificateKeyContext(serverId)) } },
    });
    const user = await harness.prisma.xmppUser.create({ data: { serverId, localpart: 'alice' } });
    await harness.prisma.xmppUser.update({ where: { id: user.id }, data: { secret: { create: sealed('xmpp_user_password', 'user password', xmppUserPasswordContext(user.id)) } } });
    const invite = await harness.prisma.invite.create({ data: { serverId, expiresAt: new Date(Date.now() + 3_600_000) } });
    await harness.prisma.invite.update({ where: { id: invite.id }, data: { uriSecret: { create: sealed('invite_uri', 'xmpp:invite', inviteUriContext(invite.id)) } } });
    const { accountId } = await harness.prisma.server.findUniqueOrThrow({ where: { id: serverId } });
    const owner = await harness.prisma.account.update({
      where: { id: accountId },
      data: { totpSecret: { create: sealed('totp_secret', 'TOTP seed', totpSecretContext(accountId)) } },
    });
    const ids = {
      admin: credential.secretId,
      account: account.keyId,
      certificate: (await harness.prisma.certificate.findUniqueOrThrow({ where: { id: certificate.id } })).privateKeyId ?? '',
      user: (await harness.prisma.xmppUser.findUniqueOrThrow({ where: { id: user.id } })).secretId ?? '',
      invite: (await harness.prisma.invite.findUniqueOrThrow({ where: { id: invite.id } })).uriSecretId ?? '',
      totp: owner.totpSecretId ?? '',
    };
    const secrets = [
      { id: ids.admin, keyring: 'credentials', context: adminSecretContext(serverId), plaintext: 'admin password' },
      { id: ids.account, keyring: 'platform', context: acmeAccountKeyContext(directoryUrl), plaintext: 'account key PEM' },
      { id: ids.certificate, keyring: 'platform', context: certificateKeyContext(serverId), plaintext: 'certificate key PEM' },
      { id: ids.user, keyring: 'credentials', context: xmppUserPasswordContext(user.id), plaintext: 'user password' },
      { id: ids.invite, keyring: 'credentials', context: inviteUriContext(invite.id), plaintext: 'xmpp:invite' },
      { id: ids.totp, keyring: 'credentials', context: totpSecretContext(accountId), plaintext: 'TOTP seed' },
    ] as const;
    const cleanUp = async () => {
      await wipeSecrets(harness.prisma, secrets.map((s) => s.id));
      await harness.prisma.server.delete({ where: { id: serverId } });
    };
    return { secrets, cleanUp };
  }

  /** A live secret whose owner is gone, and a wiped one: neither is re-sealed. */
  async function leftAlone(credentialsV1: string) {
    const s = SecretBox.fromKeyring(credentialsV1).seal('orphan', 'admin_password:gone');
    const row = { purpose: 'admin_password' as const, keyring: 'credentials' as const, keyVersion: 1, iv: Uint8Array.from(s.iv), ciphertext: Uint8Array.from(s.ciphertext), authTag: Uint8Array.from(s.authTag) };
    const orphan = await harness.prisma.encryptedSecret.create({ data: row });
    const wiped = await harness.prisma.encryptedSecret.create({ data: row });
    await wipeSecrets(harness.prisma, [wiped.id]);
    return { orphan: orphan.id, wiped: wiped.id };
  }

  it('moves every secret to its purpose\'s keyring at the newest version, still opening to the same plaintext', async () => {
    const [k1, k2, p1] = [`1:${key()}`, `2:${key()}`, `1:${key()}`];
    const { secrets, cleanUp } = await legacySecrets(k1);
    const { orphan, wiped } = await leftAlone(k1);

    // The operator added version 2 of the credentials keyring and the new platform keyring.
    const rotated = SecretSealer.fromKeyrings({ credentials: `${k1},${k2}`, platform: p1 });
    // Batches of two: the six secrets and the orphan take four rounds.
    expect(await resealStaleSecrets(harness.prisma, rotated, 2)).toEqual({ resealed: 6, unopenable: 0, changed: 0, left: 0, unowned: 1 });

    // Version 1 can go now: keyrings without it open everything.
    const withoutOld = SecretSealer.fromKeyrings({ credentials: k2, platform: p1 });
    for (const secret of secrets) {
      const row = await harness.prisma.encryptedSecret.findUniqueOrThrow({ where: { id: secret.id } });
      expect({ keyring: row.keyring, keyVersion: row.keyVersion }).toEqual({ keyring: secret.keyring, keyVersion: secret.keyring === 'credentials' ? 2 : 1 });
      expect(withoutOld.open(row, secret.context)).toBe(secret.plaintext);
    }
    const [orphanRow, wipedRow] = await Promise.all([orphan, wiped].map((id) => harness.prisma.encryptedSecret.findUniqueOrThrow({ where: { id } })));
    expect(orphanRow).toMatchObject({ keyring: 'credentials', keyVersion: 1 });
    expect(wipedRow).toMatchObject({ keyring: 'credentials', keyVersion: 1, ciphertext: new Uint8Array(0) });

    // Nothing left: a second run changes nothing.
    expect(await resealStaleSecrets(harness.prisma, rotated)).toEqual({ resealed: 0, unopenable: 0, changed: 0, left: 0, unowned: 1 });
    // Under keys the worker of the last test does not hold.
    await harness.prisma.encryptedSecret.delete({ where: { id: orphan } });
    await cleanUp();
  });

  it('re-seals each secret once when two workers rotate at the same time', async () => {
    const [k1, k2, p1] = [`1:${key()}`, `2:${key()}`, `1:${key()}`];
    const { secrets, cleanUp } = await legacySecrets(k1);
    const rotated = () => SecretSealer.fromKeyrings({ credentials: `${k1},${k2}`, platform: p1 });

    const results = await Promise.all([resealStaleSecrets(harness.prisma, rotated(), 1), resealStaleSecrets(harness.prisma, rotated(), 1)]);
    expect(results.reduce((sum, result) => sum + result.resealed, 0)).toBe(6);
    const withoutOld = SecretSealer.fromKeyrings({ credentials: k2, platform: p1 });
    for (const secret of secrets) {
      expect(withoutOld.open(await harness.prisma.encryptedSecret.findUniqueOrThrow({ where: { id: secret.id } }), secret.context)).toBe(secret.plaintext);
    }
    await cleanUp();
  });

  it('runs on the worker\'s queue at the configured interval, the first time as the worker starts', async () => {
    const { queue } = await harness.startWorker();
    const schedulers = await queue.getJobSchedulers();
    expect(schedulers.find((s) => s.key === RESEAL_SECRETS_JOB)).toMatchObject({ every: harness.config.jobs.resealIntervalMs });
    const result = await until('the first scheduled re-seal completes', async () => (await queue.getCompleted()).find((j) => j.name === RESEAL_SECRETS_JOB)?.returnvalue as unknown, 30_000);
    const report = JSON.parse(String(result)) as Record<string, unknown>;
    expect([typeof report.resealed, report.left]).toEqual(['number', 0]);
  });
});
