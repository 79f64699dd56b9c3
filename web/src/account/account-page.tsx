import { useSession } from '../session/use-session.js';
import { usePageTitle } from '../ui/use-page-title.js';
import { ApiTokens } from './api-tokens.js';
import { ChangePassword } from './change-password.js';
import { EmailStatus } from './email-status.js';
import { TwoFactor } from './two-factor.js';
import { PlanCard } from './plan-card.js';

export function AccountPage() {
  usePageTitle('Account');
  const me = useSession().data;
  // RequireSession shows this page only once someone is logged in; the check is for the types.
  if (!me) return null;
  return (
    <div className="page">
      <div>
        <h1>Your account</h1>
        <p className="lede">{me.account.email}</p>
      </div>
      <EmailStatus account={me.account} />
      <PlanCard account={me.account} />
      <ChangePassword />
      <TwoFactor account={me.account} />
      <ApiTokens />
    </div>
  );
}
