import { Link } from 'react-router';
import { ErrorNotice } from './error-notice.js';

/** What a page shows while its main query loads, or when it failed (not found, API down). */
export function QueryFallback({ pending, error, back }: { pending: boolean; error: unknown; back: { to: string; label: string } }) {
  if (pending) return <p className="loading">Loading…</p>;
  return (
    <div className="page">
      <ErrorNotice error={error} />
      <Link to={back.to}>{back.label}</Link>
    </div>
  );
}
