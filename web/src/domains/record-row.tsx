import type { DomainRecord } from '../api/types.js';
import { withoutApiReferences } from '../api/plain-words.js';
import { Copyable } from '../ui/copyable.js';

/** One record to create at the customer's DNS host, with what the last lookup found. */
export function RecordRow({ record }: { record: DomainRecord }) {
  const check = record.check;
  // A missing optional record is not a problem to fix: it is not shown as one.
  const status = !check
    ? { tone: 'muted', label: 'Not checked yet' }
    : check.ok
      ? { tone: 'good', label: 'Found' }
      : record.required
        ? { tone: 'bad', label: 'Not right yet' }
        : { tone: 'muted', label: 'Not found' };
  return (
    <li className="record">
      <div className="record-head">
        <span className="record-type">{record.type}</span>
        <span className={`badge badge-${status.tone}`}>{status.label}</span>
        {record.required ? null : <span className="hint">optional</span>}
      </div>
      <p className="hint">{record.description}</p>
      <dl className="record-fields">
        <dt>Name</dt>
        <dd>
          <Copyable value={record.name} label={`${record.type} record name ${record.name}`} />
        </dd>
        <dt>Value</dt>
        <dd>{record.value ? <Copyable value={record.value} label={`${record.type} record value for ${record.name}`} /> : <span className="hint">Known once a server uses this domain.</span>}</dd>
      </dl>
      {check && !check.ok ? <p className={record.required ? 'field-error' : 'hint'}>{withoutApiReferences(check.message)}</p> : null}
    </li>
  );
}
