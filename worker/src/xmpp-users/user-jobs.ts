import type { XmppUserState } from '../../../prisma/generated/client/enums.js';
import { USER_DELETE_JOB, USER_RESET_PASSWORD_JOB, xmppUserPasswordContext, type UserJob, type UserJobName } from '../contracts/xmpp-user-jobs.js';
import { prosodyCreateOrUpdateUser } from '../provisioning/prosody-accounts.js';
import { assertUsername, isValidUsername } from '../contracts/xmpp-names.js';
import { PermanentStepError } from '../provisioning/step-errors.js';
import type { XmppUsersDeps } from './deps.js';
import { prosodyDeleteAccountLive, prosodyEndSessions } from './prosody-shell.js';
import { serverForAccounts } from './server-guard.js';
import { wipeSecrets } from '../crypto/sealed-secret.js';

// The three user jobs make the Prosody account match the XmppUser row: present with the password
// sealed in row.secretId (pending/active), or absent (deleting/deleted). The row is the truth;
// a job name says which request asked, so a request that is no longer current does nothing.
// After acting, the row is updated only if it still says what was acted on (state and secretId);
// if a newer request changed it meanwhile, the job acts again on the newer row, so a stale
// action (an old password, a deletion racing a re-creation) never sticks.

const ROUNDS = 3;

type UserRow = NonNullable<Awaited<ReturnType<typeof loadUser>>>;

function loadUser(deps: XmppUsersDeps, userId: string) {
  return deps.prisma.xmppUser.findUnique({ where: { id: userId }, include: { secret: true } });
}

const wantsAbsent = (state: XmppUserState) => state === 'deleting' || state === 'deleted';

export async function runUserJob(deps: XmppUsersDeps, name: UserJobName, job: UserJob): Promise<string> {
  let user = await loadUser(deps, job.userId);
  if (!user) return 'Nothing to do: the user no longer exists';
  if (user.serverId !== job.serverId) throw new PermanentStepError('The user does not belong to this server');
  if ((name === USER_DELETE_JOB) !== wantsAbsent(user.state)) return `Nothing to do: the user is ${user.state}`;

  for (let round = 0; round < ROUNDS; round++) {
    const settled = wantsAbsent(user.state) ? await removeAccount(deps, user) : await applyAccount(deps, user, name);
    if (settled) return settled;
    user = await loadUser(deps, job.userId);
    if (!user) return 'Nothing to do: the user no longer exists';
  }
  throw new Error('the user kept changing while its account was being updated');
}

/** Resolves with the outcome, or null when the row changed meanwhile. */
async function applyAccount(deps: XmppUsersDeps, user: UserRow, name: UserJobName): Promise<string | null> {
  const server = await serverForAccounts(deps.prisma, user.serverId);
  if (server.gone) throw new PermanentStepError('The server has been deleted');
  const username = assertUsername(user.localpart);
  const jid = `${username}@${server.domain}`;
  if (!user.secret || user.secret.destroyedAt) throw new PermanentStepError(`No password is stored for ${jid}`);
  let password: string;
  try {
    password = deps.secrets.open(user.secret, xmppUserPasswordContext(user.id));
  } catch {
    throw new PermanentStepError(`The stored password for ${jid} cannot be opened`);
  }
  if (password.length === 0 || /[\r\n\0]/.test(password)) throw new PermanentStepError(`The stored password for ${jid} is not a single line`);

  const result = await prosodyCreateOrUpdateUser(deps.containers, user.serverId, { username, domain: server.domain, password });
  // A reset is often made because a password leaked: sessions opened with the old one end too.
  const reset = name === USER_RESET_PASSWORD_JOB && result === 'updated';
  if (reset) await prosodyEndSessions(deps.containers, user.serverId, { username, domain: server.domain });

  const { count } = await deps.prisma.xmppUser.updateMany({
    where: { id: user.id, state: user.state, secretId: user.secretId },
    data: { state: 'active', lastError: null },
  });
  if (count === 0) return null;
  if (result === 'created') return `Created ${jid}`;
  return reset ? `Set a new password for ${jid} and ended its sessions` : `${jid} exists with its password set`;
}

async function removeAccount(deps: XmppUsersDeps, user: UserRow): Promise<string | null> {
  const server = await serverForAccounts(deps.prisma, user.serverId);
  let outcome: string;
  if (server.gone) {
    outcome = 'Removed the user: its server is deleted';
  } else if (!isValidUsername(user.localpart)) {
    // Never passed the grammar, so never created in Prosody.
    outcome = 'Removed the user, which never had an account';
  } else {
    const jid = `${user.localpart}@${server.domain}`;
    const result = await prosodyDeleteAccountLive(deps.containers, user.serverId, { username: user.localpart, domain: server.domain });
    outcome = result === 'deleted' ? `Deleted ${jid} and ended its sessions` : `${jid} was already gone`;
  }

  const settled = await deps.prisma.$transaction(async (tx) => {
    const { count } = await tx.xmppUser.updateMany({
      where: { id: user.id, state: user.state, secretId: user.secretId },
      data: { state: 'deleted', lastError: null },
    });
    if (count === 1 && user.secretId) await wipeSecrets(tx, [user.secretId]);
    return count === 1;
  });
  return settled ? outcome : null;
}
