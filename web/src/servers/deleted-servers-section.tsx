import { useNavigate } from 'react-router';
import { ErrorNotice } from '../ui/error-notice.js';
import { useBringBack, useDeletedServers } from './deleted-server-queries.js';
import { DeletedServerRow } from './deleted-server-row.js';

/**
 * The servers whose deletion can still be undone, under the list of servers; nothing at all when
 * there are none. A server brought back opens on its page, where its setup steps show live.
 */
export function DeletedServersSection({ deleting }: { deleting: boolean }) {
  const deleted = useDeletedServers(deleting);
  const bringBack = useBringBack();
  const navigate = useNavigate();
  const items = deleted.data ?? [];
  if (items.length === 0) return <ErrorNotice error={deleted.error} />;
  return (
    <section className="stack" aria-labelledby="deleted-servers-title">
      <h2 id="deleted-servers-title">Deleted servers</h2>
      <p className="hint">Parley keeps a final backup of a deleted server for a while: until then you can undo the deletion.</p>
      <ErrorNotice error={deleted.error} />
      <ul className="list">
        {items.map((server) => {
          const mine = bringBack.variables === server.id;
          return (
            <DeletedServerRow
              key={server.id}
              server={server}
              onBringBack={() => bringBack.mutate(server.id, { onSuccess: () => void navigate(`/servers/${server.id}`) })}
              bringBack={{ pending: mine && bringBack.isPending, error: mine ? bringBack.error : null }}
            />
          );
        })}
      </ul>
    </section>
  );
}
