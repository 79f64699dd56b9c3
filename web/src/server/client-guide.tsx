import { ScrollTable } from '../ui/scroll-table.js';
import { CLIENT_APPS } from './clients.js';

/** Which app to install, and what each one can do. */
export function ClientGuide() {
  return (
    <section className="card stack" aria-labelledby="clients-title">
      <h2 id="clients-title">Apps to use</h2>
      <p className="hint">Any XMPP app works. These are the ones we recommend; sign in with the address and password.</p>
      <ScrollTable label="Recommended apps">
        <thead>
          <tr>
            <th scope="col">App</th>
            <th scope="col">Platform</th>
            <th scope="col">OMEMO encryption</th>
            <th scope="col">Calls</th>
          </tr>
        </thead>
        <tbody>
          {CLIENT_APPS.map((app) => (
            <tr key={app.name}>
              <th scope="row">
                {app.name}
                <span className="hint block">{app.note}</span>
              </th>
              <td data-label="Platform">{app.platform}</td>
              <td data-label="OMEMO encryption">{app.omemo ? 'Yes' : 'No'}</td>
              <td data-label="Calls">{app.audioVideoCalls ? 'Audio and video' : 'No'}</td>
            </tr>
          ))}
        </tbody>
      </ScrollTable>
    </section>
  );
}
