import { z } from 'zod';

/** Every snapshot of a server's data carries this tag: retention and listing go by it. */
export const serverSnapshotTag = (serverId: string): string => `server:${serverId}`;
/** And the id of its backup row, so a retry after a crash finds the snapshot it already made. */
export const backupSnapshotTag = (backupId: string): string => `backup:${backupId}`;

/** The one file of a server snapshot: a tar of the data volume, led by the metadata entry. */
export const SERVER_DATA_FILE = 'server-data.tar';
/** The archive's first entry: what the data belongs to, so a restore can check it. */
export const SERVER_METADATA_ENTRY = 'parley-server.json';

/**
 * What recreating the server takes besides its data; certificates are issued anew. Format 1:
 * the data is Prosody's internal storage (accounts, rosters, MAM, MUC, PEP, uploads, invites).
 */
export const serverSnapshotMetadataSchema = z.object({
  format: z.literal(1),
  serverId: z.uuid(),
  name: z.string(),
  domain: z.string(),
  federation: z.boolean(),
  plan: z.string(),
  node: z.string().nullable(),
  takenAt: z.iso.datetime(),
});
export type ServerSnapshotMetadata = z.infer<typeof serverSnapshotMetadataSchema>;
