import { Navigate, Route, Routes } from 'react-router';
import { AccountPage } from './account/account-page.js';
import { AuditPage } from './audit/audit-page.js';
import { AuthPage } from './auth/auth-page.js';
import { ForgotPasswordPage } from './auth/forgot-password-page.js';
import { ResetPasswordPage } from './auth/reset-password-page.js';
import { VerifyEmailPage } from './auth/verify-email-page.js';
import { DomainPage } from './domains/domain-page.js';
import { DomainsPage } from './domains/domains-page.js';
import { AppShell } from './layout/app-shell.js';
import { RequireSession } from './layout/require-session.js';
import { NotFoundPage } from './layout/not-found-page.js';
import { OperatorPage } from './operator/operator-page.js';
import { OrderPage } from './order/order-page.js';
import { ManageTab } from './server/manage-tab.js';
import { OverviewTab } from './server/overview-tab.js';
import { ServerPage } from './server/server-page.js';
import { WelcomeKitPage } from './server/welcome-kit-page.js';
import { ServersPage } from './servers/servers-page.js';
import { StatusPage } from './status/status-page.js';
import { UsageTab } from './usage/usage-tab.js';
import { UsersTab } from './users/users-tab.js';

export function App() {
  return (
    <Routes>
      <Route element={<AppShell />}>
        <Route path="/login" element={<AuthPage mode="login" />} />
        <Route path="/signup" element={<AuthPage mode="signup" />} />
        <Route path="/forgot-password" element={<ForgotPasswordPage />} />
        <Route path="/reset-password" element={<ResetPasswordPage />} />
        <Route path="/verify-email" element={<VerifyEmailPage />} />
        <Route path="/status" element={<StatusPage />} />
        <Route element={<RequireSession />}>
          <Route index element={<Navigate to="/servers" replace />} />
          <Route path="/servers" element={<ServersPage />} />
          <Route path="/servers/new" element={<OrderPage />} />
          <Route path="/servers/:serverId" element={<ServerPage />}>
            <Route index element={<OverviewTab />} />
            <Route path="users" element={<UsersTab />} />
            <Route path="usage" element={<UsageTab />} />
            <Route path="manage" element={<ManageTab />} />
          </Route>
          <Route path="/domains" element={<DomainsPage />} />
          <Route path="/domains/:domainId" element={<DomainPage />} />
          <Route path="/activity" element={<AuditPage />} />
          <Route path="/operator" element={<OperatorPage />} />
          <Route path="/account" element={<AccountPage />} />
        </Route>
        <Route path="*" element={<NotFoundPage />} />
      </Route>
      <Route element={<RequireSession />}>
        <Route path="/servers/:serverId/welcome" element={<WelcomeKitPage />} />
      </Route>
    </Routes>
  );
}
