import type { PrismaClient } from '../../../prisma/client.js';
import type { SecretSealer } from '../crypto/secret-sealer.js';
import type { CertificateAuthority } from '../ports/certificate-authority.js';
import { isUniqueViolation } from '../../../prisma/errors.js';
import { acmeAccountKeyContext } from '../contracts/secret-contexts.js';

/**
 * One ACME account per CA directory, its key sealed at rest. Two workers racing to create it
 * collide on the unique directory URL and the loser uses the winner's key.
 */
export async function acmeAccountKey(prisma: PrismaClient, secrets: SecretSealer, ca: CertificateAuthority, contactEmail: string) {
  const existing = await prisma.acmeAccount.findUnique({ where: { directoryUrl: ca.directoryUrl }, include: { key: true } });
  if (existing) return { accountId: existing.id, keyPem: secrets.open(existing.key, acmeAccountKeyContext(ca.directoryUrl)) };

  const keyPem = await ca.createAccountKey();
  const sealed = secrets.seal('acme_account_key', keyPem, acmeAccountKeyContext(ca.directoryUrl));
  try {
    const account = await prisma.acmeAccount.create({
      data: {
        directoryUrl: ca.directoryUrl,
        contactEmail,
        key: { create: sealed },
      },
    });
    return { accountId: account.id, keyPem };
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    return acmeAccountKey(prisma, secrets, ca, contactEmail);
  }
}
