import { GetHostedZoneCommand, type Route53Client } from '@aws-sdk/client-route-53';
import type { DnsProvider } from '../ports/dns-provider.js';

export interface Route53Options {
  client: Route53Client;
  hostedZoneId: string;
}

export class Route53DnsProvider implements DnsProvider {
  constructor(private readonly options: Route53Options) {}

  async ping(): Promise<string> {
    const output = await this.options.client.send(new GetHostedZoneCommand({ Id: this.options.hostedZoneId }));
    return `Route 53 hosted zone ${output.HostedZone?.Name ?? this.options.hostedZoneId}`;
  }
}
