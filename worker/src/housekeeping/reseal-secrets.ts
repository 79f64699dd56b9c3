import type { PrismaClient } from '../../../prisma/client.js';
import { counted } from '../contracts/counted.js';
import type { Prisma } from '../../../prisma/generated/client/client.js';
import { SecretPurpose } from '../../../prisma/generated/client/enums.js';
import { acmeAccountKeyContext, adminSecretContext, certificateKeyContext, totpSecretContext, turnSecretContext } from '../contracts/secret-contexts.js';
import { inviteUriContext, xmppUserPasswordContext } from '../contracts/xmpp-user-jobs.js';
import type { SecretSealer } from '../crypto/secret-sealer.js';

/** Rows read and re-sealed per round trip: a large backlog never holds many plaintexts at once. */
const BATCH_SIZE = 100;

/** Each purpose's owner: the associated data a secret is bound to names it. */
const owners = {
  serverCredential: { select: { serverId: true } },
  certificate: { select: { serverId: true } },
  acmeAccount: { select: { directoryUrl: true } },
  xmppUser: { select: { id: true } },
  invite: { select: { id: true } },
  totpAccount: { select: { id: true } },
  turnSecret: { select: { serverId: true } },
} satisfies Prisma.EncryptedSecretInclude;

type OwnedSecret = Prisma.EncryptedSecretGetPayload<{ include: typeof owners }>;

/** The associated data the secret was sealed with; null once its owner is gone (then nothing opens it). */
function associatedDataOf(secret: OwnedSecret): string | null {
  switch (secret.purpose) {
    case 'admin_password':
      return secret.serverCredential && adminSecretContext(secret.serverCredential.serverId);
    case 'certificate_key':
      return secret.certificate && certificateKeyContext(secret.certificate.serverId);
    case 'acme_account_key':
      return secret.acmeAccount && acmeAccountKeyContext(secret.acmeAccount.directoryUrl);
    case 'xmpp_user_password':
      return secret.xmppUser && xmppUserPasswordContext(secret.xmppUser.id);
    case 'invite_uri':
      return secret.invite && inviteUriContext(secret.invite.id);
    case 'totp_secret':
      return secret.totpAccount && totpSecretContext(secret.totpAccount.id);
    case 'turn_secret':
      return secret.turnSecret && turnSecretContext(secret.turnSecret.serverId);
  }
}

/** Live secrets not under their purpose's keyring at its newest version. */
function staleWhere(sealer: SecretSealer): Prisma.EncryptedSecretWhereInput {
  return {
    destroyedAt: null,
    OR: Object.values(SecretPurpose).map((purpose) => ({ purpose, NOT: sealer.current(purpose) })),
  };
}

/**
 * Key rotation: re-seals every live secret still under an older key version, or under the
 * credentials keyring when its purpose now belongs to the platform keyring, with the same
 * associated data. Each row is written only if it is still the sealing that was read, so a row
 * wiped or re-sealed meanwhile (another worker's run) is left as it now is. Once nothing is left,
 * the old key versions can be taken out of the keyrings.
 */
export async function resealStaleSecrets(prisma: PrismaClient, sealer: SecretSealer, batchSize = BATCH_SIZE): Promise<string> {
  const counts = { resealed: 0, unowned: 0, unopenable: 0, changed: 0 };
  let after: string | undefined;
  for (;;) {
    const batch = await prisma.encryptedSecret.findMany({
      where: { ...staleWhere(sealer), ...(after === undefined ? {} : { id: { gt: after } }) },
      include: owners,
      orderBy: { id: 'asc' },
      take: batchSize,
    });
    for (const secret of batch) {
      after = secret.id;
      const associatedData = associatedDataOf(secret);
      if (associatedData === null) {
        counts.unowned += 1;
        continue;
      }
      let plaintext: string;
      try {
        plaintext = sealer.open(secret, associatedData);
      } catch {
        // Its key version was taken out of the keyring already, or the row is damaged.
        counts.unopenable += 1;
        continue;
      }
      const resealed = sealer.seal(secret.purpose, plaintext, associatedData);
      const { count } = await prisma.encryptedSecret.updateMany({
        where: { id: secret.id, keyring: secret.keyring, keyVersion: secret.keyVersion, iv: { equals: secret.iv }, destroyedAt: null },
        data: { keyring: resealed.keyring, keyVersion: resealed.keyVersion, iv: resealed.iv, ciphertext: resealed.ciphertext, authTag: resealed.authTag },
      });
      counts[count === 1 ? 'resealed' : 'changed'] += 1;
    }
    if (batch.length < batchSize) break;
  }
  const left = counts.unopenable + counts.changed;
  return [
    `Re-sealed ${counted(counts.resealed, 'secret')} under the newest keys; ${left} left to re-seal`,
    counts.unopenable > 0 ? `${counts.unopenable} could not be opened (is its key still in the keyring?)` : null,
    counts.changed > 0 ? `${counts.changed} changed meanwhile (the next run takes them)` : null,
    counts.unowned > 0 ? `${counted(counts.unowned, 'secret')} without an owner left alone (nothing can open ${counts.unowned === 1 ? 'it' : 'them'})` : null,
  ]
    .filter((part) => part !== null)
    .join('; ');
}
