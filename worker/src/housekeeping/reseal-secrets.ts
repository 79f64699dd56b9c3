import type { PrismaClient } from '../../../prisma/client.js';
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

/** What a rotation run did: the old key versions can go once `left` is 0. */
export interface ResealReport {
  /** Re-sealed under the newest keys. */
  resealed: number;
  /** Could not be opened: its key version is no longer in the keyring, or the row is damaged. */
  unopenable: number;
  /** Changed meanwhile (another run, a wipe): the next run takes them. */
  changed: number;
  /** Left to re-seal: unopenable and changed. */
  left: number;
  /** Without an owner, so nothing can open them: left alone. */
  unowned: number;
}

/**
 * Key rotation: re-seals every live secret still under an older key version, or under the
 * credentials keyring when its purpose now belongs to the platform keyring, with the same
 * associated data. Each row is written only if it is still the sealing that was read, so a row
 * wiped or re-sealed meanwhile (another worker's run) is left as it now is. Once nothing is left,
 * the old key versions can be taken out of the keyrings.
 */
export async function resealStaleSecrets(prisma: PrismaClient, sealer: SecretSealer, batchSize = BATCH_SIZE): Promise<ResealReport> {
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
  return { ...counts, left: counts.unopenable + counts.changed };
}
