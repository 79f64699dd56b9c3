import type { DnsProvider } from '../ports/dns-provider.js';

export interface PowerDnsOptions {
  apiUrl: string;
  apiKey: string;
  serverId: string;
  zone: string;
}

export class PowerDnsProvider implements DnsProvider {
  constructor(private readonly options: PowerDnsOptions) {}

  async ping(): Promise<string> {
    const zone = `${this.options.zone}.`;
    const response = await this.request(`/zones/${encodeURIComponent(zone)}`);
    if (response.status === 401 || response.status === 403) throw new Error('PowerDNS rejected the API key (PDNS_API_KEY)');
    if (response.status === 404 || response.status === 422) throw new Error(`PowerDNS does not serve the zone ${zone}`);
    if (!response.ok) throw new Error(`PowerDNS answered HTTP ${response.status}`);
    const body = (await response.json()) as { rrsets?: unknown[] };
    return `PowerDNS serves ${zone} (${body.rrsets?.length ?? 0} rrsets)`;
  }

  private request(path: string): Promise<Response> {
    const base = this.options.apiUrl.replace(/\/$/, '');
    return fetch(`${base}/api/v1/servers/${encodeURIComponent(this.options.serverId)}${path}`, {
      headers: { 'X-API-Key': this.options.apiKey, Accept: 'application/json' },
      signal: AbortSignal.timeout(5_000),
    });
  }
}
