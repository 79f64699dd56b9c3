import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { ApiError } from '../api/api-error.js';
import { withoutApiReferences } from '../api/plain-words.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { Field } from '../ui/field.js';
import { usePageTitle } from '../ui/use-page-title.js';
import { useAddDomain, useDomains } from './domain-queries.js';
import { DomainStatus } from './domain-status.js';

export function DomainsPage() {
  usePageTitle('Domains');
  const navigate = useNavigate();
  const domains = useDomains();
  const add = useAddDomain();
  const [name, setName] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate(name.trim().toLowerCase(), { onSuccess: (domain) => void navigate(`/domains/${domain.id}`) });
  };
  const fieldError = add.error instanceof ApiError ? add.error.fieldMessage('name') : undefined;
  return (
    <div className="page">
      <h1>Domains</h1>
      <p className="lede">Use a domain you own, so addresses read alice@chat.example.com. Add it, create the DNS records we list, then verify.</p>
      <form onSubmit={submit} className="card stack" noValidate>
        <Field label="Domain" name="domain" placeholder="chat.example.com" autoComplete="off" spellCheck={false} required value={name} onChange={(e) => setName(e.target.value)} error={fieldError} />
        <ErrorNotice error={fieldError ? null : add.error} />
        <div className="actions">
          <button type="submit" className="button-primary" disabled={add.isPending}>
            {add.isPending ? 'Adding…' : 'Add domain'}
          </button>
        </div>
      </form>
      <ErrorNotice error={domains.error} />
      {domains.data && domains.data.items.length > 0 ? (
        <ul className="list">
          {domains.data.items.map((domain) => (
            <li key={domain.id} className="list-row">
              <Link to={`/domains/${domain.id}`} className="list-main">
                <span className="list-title">{domain.name}</span>
                <span className="list-sub">{withoutApiReferences(domain.statusDetail)}</span>
              </Link>
              <DomainStatus status={domain.status} />
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
