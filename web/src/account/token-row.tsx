import { useState } from 'react';
import type { ApiToken } from '../api/types.js';
import { ConfirmQuestion } from '../ui/confirm-question.js';
import { ErrorNotice } from '../ui/error-notice.js';
import { formatDate, formatDateTime, relative } from '../ui/format.js';
import { useRevokeToken } from './account-queries.js';

export function TokenRow({ token }: { token: ApiToken }) {
  const revoke = useRevokeToken();
  const [confirming, setConfirming] = useState(false);
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
            <ConfirmQuestion
              yes="Yes, revoke"
              yesLabel={`Yes, revoke ${token.name}`}
              no="Keep it"
              tone="danger"
              onYes={() => revoke.mutate(token.id)}
              onNo={() => setConfirming(false)}
              busy={revoke.isPending}
            >
              Scripts using “{token.name}” stop working at once.
            </ConfirmQuestion>
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
