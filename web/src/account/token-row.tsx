import { useEffect, useRef, useState } from 'react';
import type { ApiToken } from '../api/types.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { formatDate, formatDateTime, relative } from '../ui/format.js';
import { useRevokeToken } from './account-queries.js';

export function TokenRow({ token }: { token: ApiToken }) {
  const revoke = useRevokeToken();
  const [confirming, setConfirming] = useState(false);
  const confirmButton = useRef<HTMLButtonElement>(null);
  // The Revoke button is replaced by the question: keyboard focus moves with it instead of being lost.
  useEffect(() => {
    if (confirming) confirmButton.current?.focus();
  }, [confirming]);
  return (
    <tr>
      <td data-label="Name" className="token-name">
        {token.name}
      </td>
      <td data-label="Starts with">
        <code>{token.prefix}</code>
      </td>
      <td data-label="Created">{formatDate(token.createdAt)}</td>
      <td data-label="Last used">{token.lastUsedAt ? formatDateTime(token.lastUsedAt) : 'Never'}</td>
      <td data-label="Expires">{token.expiresAt ? `${formatDate(token.expiresAt)} (${relative(token.expiresAt)})` : 'Never'}</td>
      <td>
        {confirming ? (
          <div className="stack confirm-revoke">
            <p>Scripts using “{token.name}” stop working at once.</p>
            <div className="row-actions">
              <button
                ref={confirmButton}
                type="button"
                className="button-small button-danger"
                onClick={() => revoke.mutate(token.id)}
                disabled={revoke.isPending}
                aria-label={`Yes, revoke ${token.name}`}
              >
                Yes, revoke
              </button>
              <button type="button" className="button-small" onClick={() => setConfirming(false)}>
                Keep it
              </button>
            </div>
          </div>
        ) : (
          <button type="button" className="button-small button-danger" onClick={() => setConfirming(true)} aria-label={`Revoke ${token.name}`}>
            Revoke
          </button>
        )}
        <ErrorNotice error={revoke.error} />
      </td>
    </tr>
  );
}
