import type { PrismaClient } from '../../../prisma/client.js';
import { isUniqueViolation } from '../../../prisma/errors.js';
import { turnSecretContext } from '../contracts/secret-contexts.js';
import { generatePassword } from '../crypto/generated-password.js';
import type { SecretSealer } from '../crypto/secret-sealer.js';
import type { TurnSecret, TurnSecretStore } from '../ports/turn-secrets.js';

interface TurnSecretDeps {
  prisma: PrismaClient;
  secrets: SecretSealer;
  store: TurnSecretStore;
}

/**
 * The server's current TURN secret, minted once (sealed in the platform database first), and
 * put into the TURN store before the caller hands it to Prosody, so no credential Prosody gives
 * out is ever refused for a secret coturn does not have yet. Putting it again on every call
 * also restores a store that lost it.
 */
export async function currentTurnSecret(deps: TurnSecretDeps, serverId: string): Promise<TurnSecret> {
  const latest = await deps.prisma.turnSecret.findFirst({ where: { serverId }, orderBy: { version: 'desc' }, include: { secret: true } });
  const current =
    latest && !latest.secret.destroyedAt
      ? { version: latest.version, value: deps.secrets.open(latest.secret, turnSecretContext(serverId)) }
      : // None yet, or wiped (the server was deleted, then brought back): a new version.
        await mintTurnSecret(deps, serverId, (latest?.version ?? 0) + 1);
  await deps.store.put(serverId, current);
  return current;
}

/** Seals a new secret as `version`; when another worker minted that version first, that one is current. */
export async function mintTurnSecret(deps: TurnSecretDeps, serverId: string, version: number): Promise<TurnSecret> {
  const value = generatePassword();
  try {
    await deps.prisma.turnSecret.create({
      data: { server: { connect: { id: serverId } }, version, secret: { create: deps.secrets.seal('turn_secret', value, turnSecretContext(serverId)) } },
    });
    return { version, value };
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const row = await deps.prisma.turnSecret.findUniqueOrThrow({ where: { serverId_version: { serverId, version } }, include: { secret: true } });
    return { version, value: deps.secrets.open(row.secret, turnSecretContext(serverId)) };
  }
}
