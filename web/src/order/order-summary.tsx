import { startWords, type StartingData } from './starting-data.js';

/** What ordering does, before anyone clicks: no surprises about DNS, certificates or passwords. */
export function OrderSummary({ address, federation, startsWith }: { address: string; federation: boolean; startsWith: StartingData }) {
  return (
    <section className="card summary" aria-labelledby="order-summary-title">
      <h2 id="order-summary-title">What happens next</h2>
      <ol>
        <li>
          Parley reserves a place for <strong>{address}</strong> and publishes its DNS records.
        </li>
        <li>It gets a TLS certificate for the address, {startWords(startsWith)}</li>
        <li>It creates an admin account and logs in once to check everything works; a few seconds in all.</li>
        <li>You see the admin password once. Then add people, or send them invite links.</li>
      </ol>
      <p className="hint">{federation ? 'Your users can also chat with people on other XMPP servers.' : 'Your server stays private: it does not talk to other servers.'}</p>
    </section>
  );
}
