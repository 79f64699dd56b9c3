import { ProsodyCommandError } from './prosody-accounts.js';
import { TURN_SECRET_FILE } from './prosody-config.js';
import { buildServerSpec, installedSpec } from './server-spec.js';
import type { StepDeps } from './step-deps.js';

/** The config version whose listeners differ from its predecessors' (metrics on the container's address). */
const LISTENERS_CHANGED_IN = 5;

/**
 * Writes the server's files (configuration, certificate, secrets) as the database says they are
 * now; returns the modules a running Prosody must (re)load to see them, with their hosts.
 */
export async function writeServerFiles(deps: StepDeps, serverId: string): Promise<{ module: string; host: string }[]> {
  const { spec, domain } = await buildServerSpec(deps, serverId);
  await deps.containers.writeFiles(serverId, spec.files);
  await deps.prisma.server.update({ where: { id: serverId }, data: installedSpec(spec) });
  // Prosody's reload neither loads modules added to the configuration (by a newer config
  // version) nor re-reads settings these read once, when they load: the contact addresses, the
  // TURN secret, and the turns entry signed with it (external_services reads its list at load).
  const calls = spec.files.some((file) => file.path === TURN_SECRET_FILE);
  return [
    { module: 'server_contact_info', host: domain },
    ...(calls ? [{ module: 'external_services', host: domain }, { module: 'turn_external', host: domain }] : []),
    { module: 'vcard_muc', host: `conference.${domain}` },
  ];
}

/**
 * Writes the files, then has a running Prosody reload them (no restart: nobody is disconnected).
 * A stopped server picks them up when it starts.
 */
export async function installConfiguration(deps: StepDeps, serverId: string, running: boolean): Promise<'written' | 'reloaded' | 'restarted'> {
  const { configVersion } = await deps.prisma.server.findUniqueOrThrow({ where: { id: serverId }, select: { configVersion: true } });
  const modules = await writeServerFiles(deps, serverId);
  if (!running) return 'written';
  if (configVersion < LISTENERS_CHANGED_IN) {
    // A reload re-reads TLS settings but never re-binds listeners: the new interfaces need a restart.
    await deps.containers.restartServer(serverId);
    return 'restarted';
  }
  const reload = await deps.containers.exec(serverId, ['prosodyctl', 'reload']);
  if (reload.exitCode !== 0) throw new Error(`Prosody did not reload: ${(reload.stderr || reload.stdout).trim()}`);
  // `load` is a no-op for a loaded module and `reload` for one not loaded: both, in this order.
  for (const { module, host } of modules) {
    for (const verb of ['load', 'reload']) {
      const result = await deps.containers.exec(serverId, ['prosodyctl', 'shell', 'module', verb, module, host]);
      if (result.exitCode !== 0) throw new ProsodyCommandError(`shell module ${verb} ${module} ${host}`, result);
    }
  }
  return 'reloaded';
}
