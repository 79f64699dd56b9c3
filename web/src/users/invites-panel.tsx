import { useState, type FormEvent } from 'react';
import { ErrorNotice } from '../ui/error-notice.js';
import { InviteRow } from './invite-row.js';
import { useCreateInvite, useInvites } from './invite-queries.js';

const EXPIRIES = [
  { hours: 24, label: '1 day' },
  { hours: 168, label: '1 week' },
  { hours: 720, label: '30 days' },
];

export function InvitesPanel({ serverId }: { serverId: string }) {
  const invites = useInvites(serverId);
  const create = useCreateInvite(serverId);
  const [hours, setHours] = useState(168);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(hours);
  };
  const listed = invites.data?.items.filter((i) => i.state !== 'revoked' && i.state !== 'expired') ?? [];
  return (
    <section className="card stack" aria-labelledby="invites-title">
      <h2 id="invites-title">Invite links</h2>
      <p className="hint">An invite lets one person pick their own username and password in their app. Scan the QR code with a phone.</p>
      <form onSubmit={submit} className="inline-form">
        <div className="field">
          <label htmlFor="invite-expiry">Link works for</label>
          <select id="invite-expiry" value={hours} onChange={(e) => setHours(Number(e.target.value))}>
            {EXPIRIES.map((e) => (
              <option key={e.hours} value={e.hours}>
                {e.label}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="button-primary" disabled={create.isPending}>
          Create invite
        </button>
      </form>
      <ErrorNotice error={create.error} />
      <ErrorNotice error={invites.error} />
      {listed.length > 0 ? (
        <ul className="list">
          {listed.map((invite) => (
            <InviteRow key={invite.id} serverId={serverId} invite={invite} />
          ))}
        </ul>
      ) : invites.data ? (
        <p className="hint">No open invites.</p>
      ) : null}
    </section>
  );
}
