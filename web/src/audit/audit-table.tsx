import type { AuditEntry } from '../api/types.js';
import { formatDateTime } from '../ui/format.js';
import { ScrollTable } from '../ui/scroll-table.js';

const ACTORS: Record<string, string> = { customer: 'You', operator: 'Parley staff', api_token: 'An API token', system: 'Parley' };

const ACTIONS: Record<string, string> = {
  'account.create': 'Created the account',
  'account.password_change': 'Changed the account password',
  'account.password_reset_request': 'Asked for a password reset link',
  'account.password_reset': 'Reset the password from the mailed link',
  'account.verification_mail': 'Asked for a new email confirmation link',
  'account.email_verify': 'Confirmed the email',
  'account.two_factor_enrol': 'Started setting up two-factor log-in',
  'account.two_factor_on': 'Turned on two-factor log-in',
  'account.two_factor_off': 'Turned off two-factor log-in',
  'session.challenge': 'Entered the right password; a two-factor code was asked',
  'session.create': 'Logged in',
  'session.delete': 'Logged out',
  'token.create': 'Created an API token',
  'token.revoke': 'Revoked an API token',
  'server.create': 'Ordered a server',
  'server.delete': 'Deleted a server',
  'server.stop': 'Stopped a server',
  'server.start': 'Started a server',
  'server.restart': 'Restarted a server',
  'server.backup': 'Backed up a server',
  'server.restore': 'Restored a server from a backup',
  'server.undelete': 'Undid the deletion of a server',
  'server.export': 'Exported a server’s users',
  'server.contacts_update': 'Changed a server’s contact addresses',
  'server.calls_secret_rotate': 'Replaced a server’s calls secret',
  'server.compliance_check': 'Asked for a server’s compliance checks',
  'server_import.create': 'Uploaded a file of users to import',
  'credential.reveal': 'Revealed the admin password',
  'credential.reset': 'Reset the admin password',
  'domain.create': 'Added a domain',
  'domain.verify': 'Verified a domain',
  'domain.delete': 'Removed a domain',
  'xmpp_user.create': 'Added a user',
  'xmpp_user.delete': 'Deleted a user',
  'xmpp_user.password_reset': 'Reset a user’s password',
  'xmpp_user.password_reveal': 'Revealed a user’s password',
  'invite.create': 'Created an invite',
  'invite.revoke': 'Revoked an invite',
};

/** Known actions in words; an action added later still reads: "server.backup" → "Server backup". */
const describe = (action: string) => ACTIONS[action] ?? `${action.charAt(0).toUpperCase()}${action.slice(1).replace(/[._]/g, ' ')}`;

export function AuditTable({ entries }: { entries: AuditEntry[] }) {
  if (entries.length === 0) return <p className="hint">Nothing recorded yet.</p>;
  return (
    <ScrollTable label="Audit log entries">
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">What</th>
          <th scope="col">Who</th>
          <th scope="col">From</th>
        </tr>
      </thead>
      <tbody>
        {entries.map((entry) => (
          <tr key={entry.id}>
            <td data-label="When">{formatDateTime(entry.createdAt)}</td>
            <td data-label="What">{describe(entry.action)}</td>
            <td data-label="Who">{ACTORS[entry.actorKind] ?? entry.actorKind}</td>
            <td data-label="From">{entry.ip ?? '—'}</td>
          </tr>
        ))}
      </tbody>
    </ScrollTable>
  );
}
