import { useState, type FormEvent } from 'react';
import { ApiError } from '../api/api-error.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { Field } from '../ui/field.js';
import { ListTable } from '../ui/list-table.js';
import { useCreateToken, useTokens } from './account-queries.js';
import { NewTokenSecret } from './new-token-secret.js';
import { TokenRow } from './token-row.js';

const EXPIRIES = [
  { days: 30, label: '30 days' },
  { days: 90, label: '90 days' },
  { days: 365, label: '1 year' },
  { days: 0, label: 'Never' },
];

export function ApiTokens() {
  const tokens = useTokens();
  const create = useCreateToken();
  const [name, setName] = useState('');
  const [days, setDays] = useState(90);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ name: name.trim(), ...(days ? { expiresInDays: days } : {}) }, { onSuccess: () => setName('') });
  };
  const error = create.error instanceof ApiError ? create.error : undefined;
  const fieldErrors = error?.fields.length ? error : undefined;
  const items = tokens.data?.items ?? [];
  return (
    <section className="card stack" aria-labelledby="tokens-title">
      <h2 id="tokens-title">API tokens</h2>
      <p className="hint">
        For scripts that call the Parley API: they send the token in an <code>Authorization: Bearer</code> header. A token can do everything you
        can, so give each script its own and revoke the ones you no longer use.
      </p>
      <form onSubmit={submit} className="inline-form" noValidate>
        <Field
          label="Token name"
          name="token-name"
          placeholder="backup script"
          autoComplete="off"
          required
          value={name}
          onChange={(e) => setName(e.target.value)}
          error={fieldErrors?.fieldMessage('name')}
        />
        <div className="field token-expiry">
          <label htmlFor="token-expiry">Expires after</label>
          <select id="token-expiry" value={days} onChange={(e) => setDays(Number(e.target.value))}>
            {EXPIRIES.map((e) => (
              <option key={e.days} value={e.days}>
                {e.label}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="button-primary" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'Create token'}
        </button>
      </form>
      <ErrorNotice error={fieldErrors ? null : create.error} />
      {create.data ? <NewTokenSecret name={create.data.token.name} secret={create.data.secret} onDone={() => create.reset()} /> : null}
      <ErrorNotice error={tokens.error} />
      <ListTable label="Your API tokens" columns={['Name', 'Starts with', 'Created', 'Last used', 'Expires']} empty="No API tokens yet." loaded={tokens.data !== undefined}>
        {items.map((token) => (
          <TokenRow key={token.id} token={token} />
        ))}
      </ListTable>
    </section>
  );
}
