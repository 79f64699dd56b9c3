import { useState, type FormEvent } from 'react';
import { ApiError } from '../api/api-error.js';
import type { ServerDetail } from '../api/types.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { Field } from '../ui/field.js';
import { useSetContacts, type EditableContacts } from './contacts-queries.js';

const KINDS = [
  { kind: 'abuse', label: 'Abuse', hint: 'Where other servers and their users report spam or abuse from your server. Empty: your admin account.' },
  { kind: 'support', label: 'Support', hint: 'Where your users ask for help.' },
  { kind: 'security', label: 'Security', hint: 'Where security problems are reported.' },
] as const;

/** One address per line in the form, a list in the API. */
const toLines = (uris: string[]) => uris.join('\n');
const toList = (text: string) =>
  text
    .split(/[\n,]/)
    .map((uri) => uri.trim())
    .filter(Boolean);

/** XEP-0157 contact addresses: what other servers, directories and users see as the way to reach the server's people. */
export function ContactsSection({ server }: { server: ServerDetail }) {
  const setContacts = useSetContacts(server.id);
  // What the server publishes now; an abuse address equal to the admin's is the default, not a setting.
  const custom = (uris: string[], kind: string) => (kind === 'abuse' && uris.join() === server.contacts.admin.join() ? [] : uris);
  const [draft, setDraft] = useState<Record<keyof EditableContacts, string>>(() => ({
    abuse: toLines(custom(server.contacts.abuse, 'abuse')),
    support: toLines(server.contacts.support),
    security: toLines(server.contacts.security),
  }));
  const fieldError = (kind: string) => {
    const error = setContacts.error instanceof ApiError ? setContacts.error : undefined;
    return error?.fields.find((f) => f.field === kind || f.field.startsWith(`${kind}[`))?.message;
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setContacts.mutate({ abuse: toList(draft.abuse), support: toList(draft.support), security: toList(draft.security) });
  };
  return (
    <section className="card stack" aria-labelledby="contacts-title">
      <h2 id="contacts-title">Contact addresses</h2>
      <p>
        Your server publishes these (XEP-0157) for other servers, public server lists and your users. Write each as <code>xmpp:name@domain</code>,{' '}
        <code>mailto:name@domain</code> or an <code>https://</code> address; up to three per kind, one per line. The admin address is always {server.contacts.admin.join(', ')}.
      </p>
      <form className="stack" onSubmit={submit} noValidate>
        {KINDS.map(({ kind, label, hint }) => (
          <Field key={kind} label={label} hint={hint} error={fieldError(kind)} value={draft[kind]} onChange={(e) => setDraft({ ...draft, [kind]: e.target.value })} />
        ))}
        <div className="action-row">
          <button type="submit" disabled={setContacts.isPending}>
            Save contact addresses
          </button>
          {setContacts.isSuccess ? (
            <span className="hint" role="status">
              Saved; your server publishes them in a few seconds, without disconnecting anyone.
            </span>
          ) : null}
        </div>
      </form>
      {setContacts.error instanceof ApiError && setContacts.error.fields.length > 0 ? null : <ErrorNotice error={setContacts.error} />}
    </section>
  );
}
