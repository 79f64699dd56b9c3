import { assertDomain } from '../contracts/domain-name.js';
import type { ContainerRuntime } from '../ports/container-runtime.js';
import { ProsodyCommandError } from '../provisioning/prosody-accounts.js';
import { assertUsername } from '../contracts/xmpp-names.js';
import { luaString } from '../provisioning/prosody-config.js';

// Operations that must happen inside the running Prosody go through its admin shell
// (`prosodyctl shell`, mod_admin_shell over the admin socket). `prosodyctl deluser` and
// `passwd` change the storage from a separate process: the server's hooks never run, so a
// logged-in session of a deleted or reset account stays connected (verified: it still answers
// pings). In argv mode the shell sends one line and exits with the number of errors; a line
// starting with `>` is Lua run in the server's global environment. Every value spliced into that
// Lua passed its grammar and is written with luaString.

/** Runs one admin-shell line; resolves with the text after `OK: ` (a command's `true, message`). */
export async function prosodyShell(runtime: ContainerRuntime, serverId: string, what: string, line: string): Promise<string> {
  const result = await runtime.exec(serverId, ['prosodyctl', 'shell', line]);
  const ok = /^OK: (.*)$/m.exec(result.stdout);
  if (result.exitCode !== 0 || !ok) throw new ProsodyCommandError(`shell (${what})`, result);
  return ok[1] ?? '';
}

export const luaLine = (lua: string) => `>${lua}`;

/**
 * Deletes the account inside the server, the way Prosody's own `user:delete` does: its
 * `user-deleted` hooks close the account's sessions, tell its contacts, drop its PEP nodes.
 * An account that does not exist is success.
 */
export async function prosodyDeleteAccountLive(runtime: ContainerRuntime, serverId: string, account: { username: string; domain: string }): Promise<'deleted' | 'absent'> {
  const jid = `${assertUsername(account.username)}@${assertDomain(account.domain)}`;
  // The shell formats the arguments with %q into user:delete("jid").
  const result = await runtime.exec(serverId, ['prosodyctl', 'shell', 'user', 'delete', jid]);
  if (result.exitCode === 0 && result.stdout.includes('OK: User deleted')) return 'deleted';
  if (result.stderr.includes('Error: No such user')) return 'absent';
  throw new ProsodyCommandError(`shell user delete ${jid}`, result);
}

/**
 * Closes every session of the account, as Prosody does when a password changes in the server:
 * firing its `user-password-changed` event, which mod_c2s (and any module that caches
 * credentials) listens to.
 */
export async function prosodyEndSessions(runtime: ContainerRuntime, serverId: string, account: { username: string; domain: string }): Promise<void> {
  const username = luaString(assertUsername(account.username));
  const host = luaString(assertDomain(account.domain));
  await prosodyShell(
    runtime,
    serverId,
    'end sessions',
    luaLine(`prosody.events.fire_event("user-password-changed", { username = ${username}, host = ${host} }); return true, "sessions closed"`),
  );
}
