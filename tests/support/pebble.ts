import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { httpsGetText } from '../../worker/src/adapters/https-get.js';
import { testEnv } from './test-env.js';

export interface PebbleIssuers {
  root: X509Certificate;
  intermediate: X509Certificate;
}

/**
 * The root and intermediate Pebble issues under right now, from its management API. Pebble
 * makes new ones at every start, so they are fetched each time, never kept in a file.
 */
export async function pebbleIssuers(): Promise<PebbleIssuers> {
  const env = testEnv();
  const apiCa = readFileSync(env.ACME_CA_BUNDLE_FILE);
  const base = env.PEBBLE_MANAGEMENT_URL.replace(/\/$/, '');
  const [root, intermediate] = await Promise.all(
    ['roots/0', 'intermediates/0'].map(async (path) => new X509Certificate(await httpsGetText(`${base}/${path}`, apiCa, 5_000))),
  );
  if (!root || !intermediate) throw new Error(`Pebble at ${base} did not serve its root and intermediate`);
  return { root, intermediate };
}

/**
 * What Pebble itself says of a certificate it issued (`Valid` or `Revoked`), from its management
 * API: a revocation is proven at the CA, not by the absence of an error.
 */
export async function pebbleCertificateStatus(serial: string): Promise<string> {
  const env = testEnv();
  const base = env.PEBBLE_MANAGEMENT_URL.replace(/\/$/, '');
  const answer = JSON.parse(await httpsGetText(`${base}/cert-status-by-serial/${serial.toLowerCase()}`, readFileSync(env.ACME_CA_BUNDLE_FILE), 5_000)) as { Status?: unknown };
  if (typeof answer.Status !== 'string') throw new Error(`Pebble answered no status for serial ${serial}`);
  return answer.Status;
}
