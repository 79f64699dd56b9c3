import type { CertificateAuthority } from '../ports/certificate-authority.js';
import { httpsGetJson } from './https-get-json.js';

export interface AcmeOptions {
  directoryUrl: string;
  /** PEM of an extra CA that signs the ACME API's own TLS certificate (Pebble in the sandbox). */
  caBundle: Buffer | undefined;
}

export class AcmeCertificateAuthority implements CertificateAuthority {
  constructor(private readonly options: AcmeOptions) {}

  async ping(): Promise<string> {
    const directory = await httpsGetJson(this.options.directoryUrl, this.options.caBundle, 5_000);
    if (typeof directory !== 'object' || directory === null || !('newOrder' in directory)) {
      throw new Error(`${this.options.directoryUrl} is not an ACME directory (no newOrder)`);
    }
    return `ACME directory at ${this.options.directoryUrl}`;
  }
}
