import { assertDomain } from '../contracts/domain-name.js';
import type { ContainerRuntime, ExecResult } from '../ports/container-runtime.js';
import { assertUsername } from '../contracts/xmpp-names.js';

// Accounts are managed with prosodyctl (Prosody 0.12) inside the server's container:
// - `prosodyctl adduser JID` / `prosodyctl passwd JID` read the password from stdin (twice: new,
//   then retype), so it never appears in argv, `ps` or `docker inspect` of the exec. They work on
//   the storage directly, so they also work while Prosody is stopped.
// - `prosodyctl shell user list HOST` asks the running server through the admin socket.
// `register USER HOST PASSWORD` and `shell user create JID PASSWORD` were not chosen: both take
// the password as an argument.

const USER_EXISTS = 'That user already exists';
const USER_MISSING_PASSWD = 'That user does not exist';
const USER_MISSING_DELUSER = 'That user does not exist on this server';

export class ProsodyCommandError extends Error {
  constructor(command: string, result: ExecResult) {
    // Output only: prosodyctl never echoes the password it read. Without a terminal it hides
    // the prompt with ANSI "hidden"/"reset" codes, which are noise in an error message.
    const output = `${result.stdout}\n${result.stderr}`.replaceAll('\u001b[08m', '').replaceAll('\u001b[00m', '').trim().slice(0, 500);
    super(`prosodyctl ${command} failed with exit code ${result.exitCode}: ${output}`);
    this.name = 'ProsodyCommandError';
  }
}

export interface ProsodyAccount {
  username: string;
  domain: string;
  password: string;
}

function jidOf(username: string, domain: string): string {
  return `${assertUsername(username)}@${assertDomain(domain)}`;
}

function passwordInput(password: string): string {
  // One line each for "Enter new password" and "Retype new password".
  if (password.length === 0 || /[\r\n\0]/.test(password)) throw new Error('a password must be non-empty and a single line');
  return `${password}\n${password}\n`;
}

/**
 * Creates the account, or sets its password when it exists: re-running converges on the
 * password given (the one the worker stored before calling this).
 */
export async function prosodyCreateOrUpdateUser(runtime: ContainerRuntime, serverId: string, account: ProsodyAccount): Promise<'created' | 'updated'> {
  const jid = jidOf(account.username, account.domain);
  const stdin = passwordInput(account.password);
  // Creating first: the common case (a new account) then takes one command, not two. Two
  // rounds cover a concurrent create or delete between the two commands.
  for (let round = 0; round < 2; round++) {
    const adduser = await runtime.exec(serverId, ['prosodyctl', 'adduser', jid], stdin);
    if (adduser.exitCode === 0) return 'created';
    if (!adduser.stdout.includes(USER_EXISTS)) throw new ProsodyCommandError(`adduser ${jid}`, adduser);

    const passwd = await runtime.exec(serverId, ['prosodyctl', 'passwd', jid], stdin);
    if (passwd.exitCode === 0) return 'updated';
    if (!passwd.stdout.includes(USER_MISSING_PASSWD)) throw new ProsodyCommandError(`passwd ${jid}`, passwd);
  }
  throw new Error(`account ${jid} kept changing while its password was being set`);
}

/** Deletes the account; an account that does not exist is success. */
export async function prosodyDeleteUser(runtime: ContainerRuntime, serverId: string, account: { username: string; domain: string }): Promise<'deleted' | 'absent'> {
  const jid = jidOf(account.username, account.domain);
  const result = await runtime.exec(serverId, ['prosodyctl', 'deluser', jid]);
  if (result.exitCode === 0) return 'deleted';
  if (result.stdout.includes(USER_MISSING_DELUSER)) return 'absent';
  throw new ProsodyCommandError(`deluser ${jid}`, result);
}

/** The bare JIDs of every account on the domain, sorted (needs the server running). */
export async function prosodyListUsers(runtime: ContainerRuntime, serverId: string, domain: string): Promise<string[]> {
  const host = assertDomain(domain);
  const result = await runtime.exec(serverId, ['prosodyctl', 'shell', 'user', 'list', host]);
  // The shell exits with the number of errors, and prints them on stderr.
  if (result.exitCode !== 0) throw new ProsodyCommandError(`shell user list ${host}`, result);
  const suffix = `@${host}`;
  return result.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.endsWith(suffix) && !line.includes(' '))
    .sort();
}
