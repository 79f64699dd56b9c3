import { useState } from 'react';
import type { Invite } from '../api/types.js';
import { Copyable } from '../ui/copyable.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { formatDateTime, relative } from '../ui/format.js';
import { QrCode } from '../ui/qr-code.js';
import { useInviteLink, useRevokeInvite } from './invite-queries.js';

const STATE_WORDS: Record<string, string> = { pending: 'Being created', active: 'Open', redeemed: 'Used', revoking: 'Being revoked', failed: 'Failed' };

export function InviteRow({ serverId, invite }: { serverId: string; invite: Invite }) {
  const [shown, setShown] = useState(false);
  const link = useInviteLink(serverId, invite.id, shown && invite.state === 'active');
  const revoke = useRevokeInvite(serverId);
  const url = link.data?.link;
  return (
    <li className="list-row invite-row">
      <div className="list-main">
        <span className="list-title">{STATE_WORDS[invite.state] ?? invite.state}</span>
        <span className="list-sub">
          Expires {relative(invite.expiresAt)} ({formatDateTime(invite.expiresAt)}){invite.lastError ? ` · ${invite.lastError}` : ''}
        </span>
        {url ? (
          <div className="invite-link">
            <QrCode value={url} label="QR code of the invite link" />
            <Copyable value={url} label="invite link" />
          </div>
        ) : null}
        <ErrorNotice error={link.error ?? revoke.error} />
      </div>
      <div className="row-actions">
        {invite.state === 'active' ? (
          <button type="button" className="button-small" aria-expanded={shown} onClick={() => setShown(!shown)}>
            {shown ? 'Hide link' : 'Show link and QR code'}
          </button>
        ) : null}
        {invite.state === 'active' || invite.state === 'failed' ? (
          <button type="button" className="button-small button-danger" onClick={() => revoke.mutate(invite.id)} disabled={revoke.isPending}>
            Revoke
          </button>
        ) : null}
      </div>
    </li>
  );
}
