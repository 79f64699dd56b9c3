import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { TenantFirewall, TenantFirewallPlan } from '../ports/tenant-firewall.js';
import { resolversOf, tenantFirewallHooks, tenantFirewallRules } from '../isolation/tenant-firewall-rules.js';

const COMMAND_TIMEOUT_MS = 15_000;
/** Seconds to wait for the xtables lock that Docker also takes. */
const LOCK_WAIT_SECONDS = '10';

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
    // --noflush: only the chains the input declares are replaced, atomically.
    await run('iptables-restore', ['--noflush', '--wait', LOCK_WAIT_SECONDS], tenantFirewallRules(plan, resolversOf(resolvConf)));
    for (const [chain, rule] of tenantFirewallHooks(plan)) {
      const present = await run('iptables', ['--wait', LOCK_WAIT_SECONDS, '-C', chain, ...rule]).then(
        () => true,
        () => false,
      );
      if (!present) await run('iptables', ['--wait', LOCK_WAIT_SECONDS, '-I', chain, '1', ...rule]);
    }
  }
}

function run(command: string, args: string[], stdin?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { timeout: COMMAND_TIMEOUT_MS }, (error, _stdout, stderr) => {
      if (!error) return resolve();
      reject(
        new TenantFirewallError(
          `cannot install the tenant firewall (${command} ${args.join(' ')}): ${stderr.trim() || error.message}. The worker needs root (CAP_NET_ADMIN) on its node and Docker's iptables rules (the DOCKER-USER chain).`,
          { cause: error },
        ),
      );
    });
    // A command that exits before reading its input (a failed check) closes the pipe: not an error.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(stdin ?? '');
  });
}
