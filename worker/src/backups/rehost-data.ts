import { closedTar, tarEntries, tarFileEntry, tarHeader } from '../archive/ustar.js';
import { storageName } from '../exports/prosody-migrator.js';

/** Prosody's internal storage writes its stores as Lua source (keyval .dat, archives .list): text that names JIDs. */
const TEXT_STORE = /\.(dat|list)$/;

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `from` as a whole domain in text: the bare domain, a user's JID (`alice@from`), a component's
 * (`conference.from`), a URL's host; not a longer name that merely ends or starts the same.
 */
function domainPattern(from: string): RegExp {
  return new RegExp(`(?<![a-z0-9-])${escaped(from)}(?!\\.?[a-z0-9-])`, 'g');
}

/** A path of the data directory with its host directories (`from`, `conference.from`, …) named for `to`. */
function rehostPath(path: string, from: string, to: string): string {
  const [fromName, toName] = [storageName(from), storageName(to)];
  return path
    .split('/')
    .map((part) => (part === fromName ? toName : part.endsWith(`%2e${fromName}`) ? `${part.slice(0, -fromName.length)}${toName}` : part))
    .join('/');
}

/**
 * A server's data directory (a tar archive, as a backup holds it) moved from domain `from` to
 * domain `to`, for a clone: the directories of the host and its components renamed, and every
 * JID of those domains in the stores rewritten (accounts, rosters, group chats' affiliations,
 * archives), so the users log in on `to` with their passwords (SCRAM keys do not depend on the
 * domain) and find their contacts and history there. Uploads' files are copied as they are.
 * Message bodies that name the old domain are rewritten too: the archive keeps what was said,
 * with the server's new name in it.
 */
export function rehostData(archive: Buffer, from: string, to: string): Buffer {
  const pattern = domainPattern(from);
  const entries = tarEntries(archive).map((entry) => {
    const name = rehostPath(entry.name, from, to);
    const owner = { mode: entry.mode, uid: entry.uid, gid: entry.gid };
    if (entry.type === '5') return tarHeader(name, { ...owner, size: 0, type: '5' });
    if (entry.type !== '0' && entry.type !== '\0') throw new Error(`the data holds a ${entry.type === '2' ? 'symbolic link' : `type ${entry.type} entry`} (${entry.name}), which a clone does not copy`);
    const content = TEXT_STORE.test(name) ? Buffer.from(entry.content.toString('utf8').replace(pattern, to), 'utf8') : entry.content;
    return tarFileEntry(name, content, owner);
  });
  return closedTar(entries);
}
