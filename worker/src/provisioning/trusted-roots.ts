import { httpsGetText } from '../adapters/https-get.js';

/**
 * The roots a sandbox CA issues under (Pebble makes a new one at every start, so they are
 * fetched, never cached across restarts). Production CAs are in the system store: undefined.
 */
export function trustedRootsFrom(url: string | undefined, apiCa: Buffer | undefined): () => Promise<string[] | undefined> {
  if (!url) return () => Promise.resolve(undefined);
  return async () => {
    const pem = await httpsGetText(url, apiCa, 5_000);
    if (!pem.includes('BEGIN CERTIFICATE')) throw new Error(`${url} did not serve a PEM certificate`);
    return [pem];
  };
}
