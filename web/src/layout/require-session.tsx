import { Navigate, Outlet, useLocation } from 'react-router';
import { ErrorNotice } from '../ui/error-notice.js';
import { useSession } from '../session/use-session.js';

/** Pages behind it need a logged-in account; anyone else goes to log in and comes back after. */
export function RequireSession() {
  const session = useSession();
  const location = useLocation();
  if (session.isPending) return <p className="loading">Loading…</p>;
  if (session.isError) {
    return (
      <div className="page">
        <ErrorNotice error={session.error} />
        <button type="button" onClick={() => void session.refetch()}>
          Try again
        </button>
      </div>
    );
  }
  if (!session.data) return <Navigate to={`/login?next=${encodeURIComponent(location.pathname)}`} replace />;
  return <Outlet />;
}
