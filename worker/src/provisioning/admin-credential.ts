import { generatePassword } from '../crypto/generated-password.js';
import type { PrismaClient } from '../../../prisma/client.js';
import type { SecretSealer } from '../crypto/secret-sealer.js';
import { isUniqueViolation } from '../../../prisma/errors.js';
import { adminSecretContext } from '../contracts/secret-contexts.js';

/**
 * The server's current admin credential, minted once: a re-run (after a crash, or a retry)
 * finds the stored secret and returns it, so there is never a second password.
 */
export async function currentAdminCredential(prisma: PrismaClient, secrets: SecretSealer, serverId: string, domain: string) {
  const existing = await prisma.serverCredential.findFirst({
    where: { serverId, kind: 'admin' },
    orderBy: { issuance: 'desc' },
    include: { secret: true },
  });
  if (existing && !existing.secret.destroyedAt) return { jid: existing.jid, issuance: existing.issuance, password: secrets.open(existing.secret, adminSecretContext(serverId)) };

  // None yet, or the last one was wiped (its server deleted, then brought back): a new issuance.
  const issuance = (existing?.issuance ?? 0) + 1;
  const password = generatePassword();
  const jid = `admin@${domain}`;
  try {
    await prisma.serverCredential.create({
      data: {
        server: { connect: { id: serverId } },
        kind: 'admin',
        jid,
        issuance,
        secret: { create: secrets.seal('admin_password', password, adminSecretContext(serverId)) },
      },
    });
    return { jid, issuance, password };
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    return currentAdminCredential(prisma, secrets, serverId, domain);
  }
}

/** Records that Prosody has the credential's password: from now on the API may reveal it. */
export async function markAdminCredentialApplied(prisma: PrismaClient, serverId: string, issuance: number): Promise<void> {
  await prisma.serverCredential.updateMany({ where: { serverId, kind: 'admin', issuance, appliedAt: null }, data: { appliedAt: new Date() } });
}
