import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { TenantFirewall, TenantFirewallPlan } from '../ports/tenant-firewall.js';
import { resolversOf, tenantFirewallScript } from '../isolation/tenant-firewall-rules.js';

const COMMAND_TIMEOUT_MS = 15_000;

export class TenantFirewallError extends Error {
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'TenantFirewallError';
  }
}

/** The tenant firewall in the host's iptables, next to Docker's own rules (same binary, same backend). */
export class IptablesTenantFirewall implements TenantFirewall {
  constructor(private readonly resolvConfPath = '/etc/resolv.conf') {}

  async apply(plan: TenantFirewallPlan): Promise<void> {
    const resolvConf = await readFile(this.resolvConfPath, 'utf8').catch(() => '');
    const script = tenantFirewallScript(plan, resolversOf(resolvConf));
    await new Promise<void>((resolve, reject) => {
      execFile('sh', ['-c', script], { timeout: COMMAND_TIMEOUT_MS }, (error, _stdout, stderr) => {
        if (!error) return resolve();
        reject(
          new TenantFirewallError(
            `cannot install the tenant firewall: ${stderr.trim() || error.message}. The worker needs root (CAP_NET_ADMIN) on its node and Docker's iptables rules (the DOCKER-USER chain).`,
            { cause: error },
          ),
        );
      });
    });
  }
}
