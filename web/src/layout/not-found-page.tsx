import { Link } from 'react-router';
import { usePageTitle } from '../ui/use-page-title.js';

export function NotFoundPage() {
  usePageTitle('Not found');
  return (
    <div className="page">
      <h1>Nothing here</h1>
      <p>
        This address does not match a page. <Link to="/servers">Go to your servers</Link>.
      </p>
    </div>
  );
}
