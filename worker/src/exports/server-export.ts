import { isComplianceAccount } from '../contracts/compliance.js';
import { PassThrough } from 'node:stream';
import { exportContentContext } from '../contracts/secret-contexts.js';
import { mergeUserDocuments, RESERVED_LOCALPART } from '../contracts/xep0227.js';
import { sealDocument } from '../crypto/sealed-document.js';
import { rowAfterFailure, trackedStep } from '../jobs/tracked-step.js';
import type { StepDeps } from '../provisioning/step-deps.js';
import { PermanentStepError } from '../provisioning/step-errors.js';
import type { EventContext, Timeline } from '../provisioning/timeline.js';
import { isMigratorFile, runMigrator } from './prosody-migrator.js';

type ExportDeps = Pick<StepDeps, 'prisma' | 'containers' | 'secrets' | 'settings'>;

/**
 * Takes export row `exportId`: a consistent copy of the server's data (frozen while it is read,
 * as a backup's), converted by Prosody's migrator into per-user XEP-0227 files, merged into one
 * document, gzipped and sealed into the row. Parley's own accounts (the admin, a compliance run's throwaway ones) are left out: they are the
 * platform's, and an import refuses one. Idempotent: a finished row is left as it is.
 */
export async function takeServerExport(deps: ExportDeps, exportId: string): Promise<string> {
  const row = await deps.prisma.serverExport.findUniqueOrThrow({ where: { id: exportId }, include: { server: true } });
  if (row.status === 'succeeded') return `Already exported: ${row.userCount ?? 0} users`;
  const { server } = row;
  if (server.deletedAt || server.desiredState === 'deleted') throw new PermanentStepError('The server was deleted before its export ran.');
  await deps.prisma.serverExport.update({ where: { id: exportId }, data: { status: 'running', attempts: { increment: 1 } } });
  const image = deps.settings.prosodyImage;
  const data = new PassThrough();
  const copied = deps.containers.exportData(server.id, data, image).then(
    () => data.end(),
    (error: unknown) => {
      data.destroy();
      throw error;
    },
  );
  let entries;
  try {
    entries = await runMigrator(deps.containers, image, { domain: server.domain, direction: 'export', input: data });
  } catch (error) {
    // The copy cannot finish once nobody reads it: it fails (and thaws the server) instead.
    data.destroy();
    await copied.catch(() => undefined);
    throw error;
  }
  await copied;
  const files = entries.filter((entry) => isMigratorFile(entry.name) && entry.name.endsWith('.xml')).map((entry) => entry.content.toString('utf8'));
  const { document, users } = mergeUserDocuments(server.domain, files, (name) => name === RESERVED_LOCALPART || isComplianceAccount(name));
  const size = Buffer.byteLength(document, 'utf8');
  await deps.prisma.serverExport.update({
    where: { id: exportId },
    data: {
      status: 'succeeded',
      content: sealDocument(deps.secrets, document, exportContentContext(exportId)),
      sizeBytes: BigInt(size),
      userCount: users.length,
      lastError: null,
      lastErrorType: null,
      finishedAt: new Date(),
    },
  });
  return `Exported ${users.length} users of ${server.domain} as XEP-0227 (${size} bytes)`;
}

/** The export job: one tracked step on the server's timeline, under the server's lock (the copy freezes it). */
export function runServerExport(deps: StepDeps, timeline: Timeline, job: { serverId: string; exportId: string }, context: EventContext): Promise<string> {
  return trackedStep(
    {
      timeline,
      serverId: job.serverId,
      step: 'export',
      title: "Export the server's users (XEP-0227)",
      context: { ...context, detail: { exportId: job.exportId } },
      onFailure: async (failure) => {
        await deps.prisma.serverExport.update({ where: { id: job.exportId }, data: rowAfterFailure(failure) });
      },
    },
    () => deps.serverLock.run(job.serverId, () => takeServerExport(deps, job.exportId)),
  );
}
