import { Readable } from 'node:stream';
import { tarOf } from '../archive/ustar.js';
import { importContentContext } from '../contracts/secret-contexts.js';
import { splitForDomain } from '../contracts/xep0227.js';
import { openDocument } from '../crypto/sealed-document.js';
import { buildServerSpec, installedSpec } from '../provisioning/server-spec.js';
import type { StepDeps } from '../provisioning/step-deps.js';
import { PermanentStepError } from '../provisioning/step-errors.js';
import { isMigratorFile, runMigrator, storageName } from './prosody-migrator.js';

/**
 * An order moving from another provider: the uploaded XEP-0227 file's users (their passwords as
 * SCRAM credentials, rosters, vCards, PEP data, archives), moved to the server's domain, become
 * the data of its new container before its first start; each gets a user row (so the dashboard
 * lists them and the plan's seats count them). Resolves with where XMPP will answer and how many
 * users came. Idempotent until it clears the server's importId: a rerun does it all again.
 */
export async function putImportInPlace(deps: StepDeps, serverId: string, importId: string): Promise<{ host: string; c2sPort: number; domain: string; users: number }> {
  const upload = await deps.prisma.serverImport.findUnique({ where: { id: importId } });
  if (!upload || upload.content.length === 0) throw new PermanentStepError('The file to import is no longer there (an upload is kept for 24 hours); upload it again and order a new server.');
  const document = openDocument(deps.secrets, upload.content, importContentContext(upload.accountId));
  const { spec, host, c2sPort, domain } = await buildServerSpec(deps, serverId);
  const parts = splitForDomain(document, domain);
  const entries = await runMigrator(deps.containers, deps.settings.prosodyImage, {
    domain,
    direction: 'import',
    userFiles: parts.map((part) => ({ path: `${part.user}@${domain}.xml`, content: part.document })),
  });
  const names = new Set(entries.map((entry) => entry.name.replace(/^\.\//, '')));
  const missing = parts.filter((part) => !names.has(`${storageName(domain)}/accounts/${storageName(part.user)}.dat`)).map((part) => part.user);
  if (missing.length > 0) throw new PermanentStepError(`The import did not bring these users' accounts (the file holds no credentials for them?): ${missing.slice(0, 20).join(', ')}.`);
  const { containerId } = await deps.containers.replaceData(spec, Readable.from([tarOf(entries.filter((entry) => !isMigratorFile(entry.name)))]));
  const users = parts.map((part) => part.user);
  await deps.prisma.$transaction([
    deps.prisma.xmppUser.createMany({ data: users.map((localpart) => ({ serverId, localpart, state: 'active' as const })), skipDuplicates: true }),
    deps.prisma.server.update({ where: { id: serverId }, data: { containerId, ...installedSpec(spec), importId: null } }),
    // Used once: the file's content goes, the row stays to say which server it went to.
    deps.prisma.serverImport.update({ where: { id: importId }, data: { usedByServerId: serverId, content: new Uint8Array(0) } }),
  ]);
  return { host, c2sPort, domain, users: users.length };
}
