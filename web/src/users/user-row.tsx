import type { XmppUser } from '../api/types.js';
import { Copyable } from '../ui/copyable.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { useDeleteUser, useResetUserPassword, useRevealUserPassword } from './user-queries.js';

const STATE_WORDS: Record<string, string> = { pending: 'Being created', active: 'Active', deleting: 'Being deleted', failed: 'Failed' };

export function UserRow({ serverId, user }: { serverId: string; user: XmppUser }) {
  const reveal = useRevealUserPassword(serverId);
  const reset = useResetUserPassword(serverId);
  const remove = useDeleteUser(serverId);
  const active = user.state === 'active';
  const canReveal = active && user.passwordRevealedAt === null && !reveal.data;
  return (
    <li className="list-row user-row">
      <div className="list-main">
        <span className="list-title">{user.jid}</span>
        <span className="list-sub">
          {STATE_WORDS[user.state] ?? user.state}
          {user.lastError ? ` · ${user.lastError}` : ''}
        </span>
        {reveal.data ? (
          <span className="reveal">
            Password: <Copyable value={reveal.data.password} label={`password of ${user.jid}`} /> <span className="hint">shown once; pass it on now</span>
          </span>
        ) : null}
        <ErrorNotice error={reveal.error ?? reset.error ?? remove.error} />
      </div>
      <div className="row-actions">
        {canReveal ? (
          <button type="button" className="button-small" onClick={() => reveal.mutate(user.id)} disabled={reveal.isPending} aria-label={`Reveal password of ${user.jid}`}>
            Reveal password
          </button>
        ) : null}
        {active ? (
          <button type="button" className="button-small" onClick={() => reset.mutate(user.id, { onSuccess: () => reveal.reset() })} disabled={reset.isPending} aria-label={`Reset password of ${user.jid}`}>
            Reset password
          </button>
        ) : null}
        {user.state !== 'deleting' ? (
          <button type="button" className="button-small button-danger" onClick={() => remove.mutate(user.id)} disabled={remove.isPending} aria-label={`Delete ${user.jid}`}>
            Delete
          </button>
        ) : null}
      </div>
    </li>
  );
}
