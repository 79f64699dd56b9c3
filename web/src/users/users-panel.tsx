import { useState, type FormEvent } from 'react';
import { ApiError } from '../api/api-error.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { Field } from '../ui/field.js';
import { useCreateUser, useUsers } from './user-queries.js';
import { UserRow } from './user-row.js';

export function UsersPanel({ serverId, domain }: { serverId: string; domain: string }) {
  const users = useUsers(serverId);
  const create = useCreateUser(serverId);
  const [localpart, setLocalpart] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(localpart, { onSuccess: () => setLocalpart('') });
  };
  const fieldError = create.error instanceof ApiError ? create.error.fieldMessage('localpart') : undefined;
  return (
    <section className="card stack" aria-labelledby="users-title">
      <h2 id="users-title">Users</h2>
      <form onSubmit={submit} className="inline-form" noValidate>
        <Field
          label="New user"
          name="localpart"
          hint={`Their address becomes name@${domain}. Parley generates the password; you see it once.`}
          autoComplete="off"
          spellCheck={false}
          value={localpart}
          onChange={(e) => setLocalpart(e.target.value.toLowerCase())}
          error={fieldError}
        />
        <button type="submit" className="button-primary" disabled={create.isPending || !localpart}>
          Add user
        </button>
      </form>
      <ErrorNotice error={fieldError ? null : create.error} />
      <ErrorNotice error={users.error} />
      {users.data && users.data.items.length === 0 ? <p className="hint">No users yet besides the admin.</p> : null}
      {users.data && users.data.items.length > 0 ? (
        <ul className="list">
          {users.data.items.map((user) => (
            <UserRow key={user.id} serverId={serverId} user={user} />
          ))}
        </ul>
      ) : null}
    </section>
  );
}
