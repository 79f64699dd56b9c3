import { NavLink, Outlet, useNavigate } from 'react-router';
import { useLogOut, useSession } from '../session/use-session.js';

export function AppShell() {
  const session = useSession();
  const logOut = useLogOut();
  const navigate = useNavigate();
  const me = session.data;
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar-inner">
          <NavLink to="/" className="brand">
            Parley
          </NavLink>
          {me ? (
            <nav aria-label="Main">
              <NavLink to="/servers">Servers</NavLink>
              <NavLink to="/domains">Domains</NavLink>
              <NavLink to="/activity">Activity</NavLink>
              {me.account.role === 'operator' ? <NavLink to="/operator">Operator console</NavLink> : null}
            </nav>
          ) : null}
          {me ? (
            <div className="account">
              {/* The email says whose account this is; the hidden words tell screen readers where the link goes. */}
              <NavLink to="/account" className="account-email">
                <span className="visually-hidden">Your account: </span>
                {me.account.email}
              </NavLink>
              <button type="button" className="button-quiet" onClick={() => logOut.mutate(undefined, { onSettled: () => void navigate('/login') })}>
                Log out
              </button>
            </div>
          ) : null}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
      <footer className="no-print">
        <div className="topbar-inner">
          <NavLink to="/status">Platform status</NavLink>
        </div>
      </footer>
    </>
  );
}
