import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { ApiError } from '../api/api-error.js';
import type { ServerDetail } from '../api/types.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { Field } from '../ui/field.js';
import { useDeleteServer } from './server-actions-queries.js';

/**
 * Deleting takes everything off the running server at once (only a final backup is kept, for a
 * while), so it asks for the server's name typed out.
 */
export function DeleteServer({ server }: { server: ServerDetail }) {
  const remove = useDeleteServer(server.id);
  const navigate = useNavigate();
  const [confirm, setConfirm] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    remove.mutate(confirm, { onSuccess: () => void navigate('/servers') });
  };
  const fieldError = remove.error instanceof ApiError ? remove.error.fieldMessage('confirm') : undefined;
  return (
    <section className="card stack danger-zone" aria-labelledby="delete-title">
      <h2 id="delete-title">Delete this server</h2>
      <p>Deletes every account, message archive and file from the running server, its DNS records and its certificate.</p>
      <p>
        Parley keeps a final backup of its data for a grace period, shown under Deleted servers on your servers page. Until it ends you can undo the deletion
        there; afterwards the backup is gone for good.
      </p>
      <form onSubmit={submit} className="stack" noValidate>
        <Field
          label={`Type the server’s name, ${server.name}, to confirm`}
          name="confirm"
          autoComplete="off"
          spellCheck={false}
          value={confirm}
          onChange={(e) => setConfirm(e.target.value)}
          error={fieldError ?? (remove.error instanceof ApiError && remove.error.status === 400 ? remove.error.detail : undefined)}
        />
        <ErrorNotice error={remove.error instanceof ApiError && remove.error.status === 400 ? null : remove.error} />
        <div className="actions">
          <button type="submit" className="button-danger" disabled={confirm !== server.name || remove.isPending}>
            {remove.isPending ? 'Deleting…' : 'Delete server'}
          </button>
        </div>
      </form>
    </section>
  );
}
