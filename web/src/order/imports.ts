import type { ServerImport } from '../api/types.js';
import { counted } from '../ui/format.js';

/** What an accepted file brings, said before the order uses it: its users move to the new address. */
export const importWords = (upload: Pick<ServerImport, 'host' | 'userCount'>, address: string) =>
  `The file holds ${counted(upload.userCount, 'user')} of ${upload.host}; each keeps their name and password, at ${address} instead.`;
