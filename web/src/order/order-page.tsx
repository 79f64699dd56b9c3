import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { ApiError } from '../api/api-error.js';
import { useDomains } from '../domains/domain-queries.js';
import { useSession } from '../session/use-session.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { Field } from '../ui/field.js';
import { counted } from '../ui/format.js';
import { platformZone } from '../ui/platform-zone.js';
import { usePageTitle } from '../ui/use-page-title.js';
import { CloneNotice } from './clone-notice.js';
import { cloneSourceOf } from './clone-source.js';
import { ImportFileField } from './import-file-field.js';
import { useOrderServer, usePlans, useUploadImport, type Order } from './order-queries.js';
import { OrderSummary } from './order-summary.js';

export function OrderPage() {
  usePageTitle('Order a server');
  const navigate = useNavigate();
  const session = useSession();
  const plans = usePlans();
  const domains = useDomains();
  const order = useOrderServer();
  const upload = useUploadImport();
  const verified = domains.data?.items.filter((d) => d.status === 'verified') ?? [];
  const [name, setName] = useState('');
  const [domainId, setDomainId] = useState('');
  const [federation, setFederation] = useState(false);
  const [plan, setPlan] = useState(session.data?.account.plan.code ?? 'personal');
  const [importFile, setImportFile] = useState<File | null>(null);
  // The clone lives in the address (a backup's row links here), so removing it is a change of address too.
  const [searchParams, setSearchParams] = useSearchParams();
  const clone = cloneSourceOf(searchParams);
  const [cloneRemoved, setCloneRemoved] = useState(false);
  const zone = platformZone();
  const customDomain = verified.find((d) => d.id === domainId)?.name;
  const address = customDomain ?? (name ? `${name}.${zone}` : `yourname.${zone}`);

  const error = order.error instanceof ApiError ? order.error : undefined;
  // The order's refusal of the import (used, expired, more users than the plan) shows with the file, in the API's full words.
  const importRefused = error?.fieldMessage('importId') !== undefined;
  const cloneRefused = error?.fieldMessage('cloneFromBackupId') !== undefined;
  const orderError = error?.fields.length ? null : order.error;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const place = (startFrom: Pick<Order, 'importId' | 'cloneFromBackupId'> = {}) =>
      order.mutate({ name, federation, plan, ...(domainId ? { domainId } : {}), ...startFrom }, { onSuccess: (server) => void navigate(`/servers/${server.id}`) });
    if (clone) return place({ cloneFromBackupId: clone.backupId });
    if (!importFile) return place();
    // An upload survives an order refused for another reason (a name taken); one the order refused is sent again.
    if (upload.data && !importRefused) return place({ importId: upload.data.id });
    order.reset();
    upload.mutate(importFile, { onSuccess: (uploaded) => place({ importId: uploaded.id }) });
  };
  const removeClone = () => {
    order.reset();
    setCloneRemoved(true);
    setSearchParams({}, { replace: true });
  };
  const chooseFile = (file: File | null) => {
    setImportFile(file);
    upload.reset();
  };
  const busy = upload.isPending || order.isPending;
  const planList = plans.data?.items ?? [];

  return (
    <div className="page narrow">
      <h1>Order a server</h1>
      <form onSubmit={submit} className="stack" noValidate>
        <fieldset className="card stack">
          <legend>Address</legend>
          <Field
            label="Name"
            name="name"
            required
            autoComplete="off"
            spellCheck={false}
            hint={domainId ? 'A label for this server in your dashboard.' : `Your server’s address becomes name.${zone}. Lowercase letters, digits and hyphens.`}
            value={name}
            onChange={(e) => setName(e.target.value.toLowerCase())}
            error={error?.fieldMessage('name')}
          />
          <div className="field">
            <label htmlFor="order-domain">Domain</label>
            <p className="hint" id="order-domain-hint">
              Use the platform’s domain, or one of your own once it is verified (<Link to="/domains">Domains</Link>).
            </p>
            <select id="order-domain" aria-describedby="order-domain-hint" value={domainId} onChange={(e) => setDomainId(e.target.value)}>
              <option value="">{`name.${zone} (platform domain)`}</option>
              {verified.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name}
                </option>
              ))}
            </select>
            {error?.fieldMessage('domainId') ? <p className="field-error">{error.fieldMessage('domainId')}</p> : null}
          </div>
        </fieldset>

        <fieldset className="card stack">
          <legend>Federation</legend>
          <label className="check">
            <input type="checkbox" checked={federation} onChange={(e) => setFederation(e.target.checked)} />
            <span>
              <strong>Talk to other XMPP servers</strong>
              <span className="hint">Off: only people with an account on this server can chat with each other. You can order another server later if you change your mind.</span>
            </span>
          </label>
        </fieldset>

        <fieldset className="card stack">
          <legend>Plan</legend>
          <ErrorNotice error={plans.error} />
          {planList.map((p) => (
            <label key={p.code} className="check">
              <input type="radio" name="plan" value={p.code} checked={plan === p.code} onChange={() => setPlan(p.code)} />
              <span>
                <strong>{p.name}</strong>
                <span className="hint">
                  Up to {counted(p.maxUsersPerServer, 'user')} per server, {counted(p.maxServers, 'server')} per account.
                </span>
              </span>
            </label>
          ))}
        </fieldset>

        {/* One or the other: the API refuses an order that names both. */}
        {clone ? (
          <CloneNotice source={clone} error={cloneRefused ? order.error : null} onRemove={removeClone} />
        ) : (
          <ImportFileField
            onChange={chooseFile}
            uploaded={upload.data}
            error={upload.error ?? (importRefused ? order.error : null)}
            address={address}
            autoFocus={cloneRemoved}
          />
        )}

        <OrderSummary address={address} federation={federation} startsWith={clone ? 'clone' : importFile ? 'file' : 'nothing'} />
        {/* Field problems sit under their fields; the rest (a quota, the API down) sits by the button and describes it. */}
        <ErrorNotice error={orderError} id="order-error" />
        <div className="actions">
          <button type="submit" className="button-primary" disabled={busy} aria-describedby={orderError ? 'order-error' : undefined}>
            {upload.isPending ? 'Uploading the file…' : order.isPending ? 'Ordering…' : 'Order server'}
          </button>
          <Link to="/servers" className="button">
            Cancel
          </Link>
        </div>
      </form>
    </div>
  );
}
