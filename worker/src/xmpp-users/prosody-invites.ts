import { assertDomain } from '../contracts/domain-name.js';
import type { ContainerRuntime } from '../ports/container-runtime.js';
import { PermanentStepError } from '../provisioning/step-errors.js';
import { luaString } from '../provisioning/prosody-config.js';
import { luaLine, prosodyShell } from './prosody-shell.js';

// Invites are mod_invites' (Prosody 0.12): account invites live in the host's `invite_token`
// store, keyed by token, each with its `expires` (Unix seconds) that mod_invites_register checks
// when a client presents the token (XEP-0401 preauth, then XEP-0077 registration).
// - `prosodyctl mod_invites generate HOST` and the shell's `invite:create_account(jid)` take no
//   expiry: both use `invite_expiry` from the config (7 days by default). mod_invites' own
//   `create_account(username, additional_data, ttl)` does take one, so it is called through the
//   admin shell instead.
// - Neither the CLI nor the shell commands can delete an invite; mod_invites'
//   `delete_account_invite(token)` can, again through the admin shell.
// Each invite Parley mints carries its row's id in `additional_data.parley_invite`, so minting
// finds an invite it already made (a retry after a crash before the URI was stored mints no
// second one), and revoking needs neither the token nor the sealed URI.
// Both run inside the server, never as a second process writing the same store file.

const TAG = 'parley_invite';
const EXPIRED = 'parley:expired';

/** The invites module of the host, or an error the shell reports. */
const invitesModule = (host: string) =>
  `local invites = require("core.modulemanager").get_module(${luaString(host)}, "invites"); ` +
  `if not invites then return nil, "mod_invites is not loaded on this host" end; `;

export interface MintedInvite {
  uri: string;
  /** What Prosody enforces (whole seconds). */
  expiresAt: Date;
}

export class InviteExpiredError extends PermanentStepError {
  constructor() {
    super('The invite expired before it could be created');
    this.name = 'InviteExpiredError';
  }
}

/** Creates the invite for `tag` expiring at `expiresAt`, or returns the one already made for it. */
export async function prosodyMintInvite(
  runtime: ContainerRuntime,
  serverId: string,
  invite: { domain: string; tag: string; expiresAt: Date },
): Promise<MintedInvite> {
  const domain = assertDomain(invite.domain);
  const expires = Math.floor(invite.expiresAt.getTime() / 1000);
  if (!Number.isSafeInteger(expires)) throw new PermanentStepError('The invite has no valid expiry time');
  const lua =
    `local tag, expires = ${luaString(invite.tag)}, ${expires}; ` +
    invitesModule(domain) +
    `for _, invite in invites.pending_account_invites() do ` +
    `if invite.additional_data and invite.additional_data.${TAG} == tag then return true, invite.expires .. " " .. invite.uri end ` +
    `end; ` +
    `if expires <= os.time() then return nil, ${luaString(EXPIRED)} end; ` +
    // ttl from the same clock Prosody adds it to, so `expires` lands on the row's second.
    `local invite, err = invites.create_account(nil, { ${TAG} = tag }, expires - os.time()); ` +
    `if not invite then return nil, tostring(err) end; ` +
    `return true, invite.expires .. " " .. invite.uri`;
  let answer: string;
  try {
    answer = await prosodyShell(runtime, serverId, 'create invite', luaLine(lua));
  } catch (error) {
    if (error instanceof Error && error.message.includes(EXPIRED)) throw new InviteExpiredError();
    throw error;
  }
  // The answer holds the token: it is parsed, never echoed into an error.
  const match = /^(\d+) (\S+)$/.exec(answer);
  const uri = match?.[2] ?? '';
  const token = /^xmpp:([^?]+)\?register;preauth=([A-Za-z0-9_-]{16,64})$/.exec(uri);
  if (!match || !token || token[1] !== domain) throw new Error('Prosody answered with an invite that is not of the form xmpp:DOMAIN?register;preauth=TOKEN');
  return { uri, expiresAt: new Date(Number(match[1]) * 1000) };
}

/** What Prosody holds for a host: its accounts, and the tags of the Parley invites not used yet. */
export interface ProsodyCensus {
  accounts: string[];
  inviteTags: string[];
  /** Server-to-server connections established right now: to other servers, and from them. */
  s2s: { outgoing: number; incoming: number };
}

/**
 * Lua evaluating to the census of a host: every account and the tags of every invite still in its
 * store. A used invite is gone from the store (mod_invites deletes it when an account registers
 * with it). Localparts never hold a space or a slash (nodeprep forbids both), so those separate
 * the answer, which parseCensusAnswer reads.
 */
export function censusLua(host: string): string {
  const domain = luaString(assertDomain(host));
  return (
    `(function() local accounts, tags = {}, {}; ` +
    `for username in require("core.usermanager").users(${domain}) do accounts[#accounts + 1] = username end; ` +
    `for _, invite in pairs(require("core.storagemanager").open(${domain}, "invite_token"):get(nil) or {}) do ` +
    `if type(invite) == "table" and invite.additional_data and invite.additional_data.${TAG} then tags[#tags + 1] = invite.additional_data.${TAG} end ` +
    `end; ` +
    // Authenticated s2s sessions only ("s2sout"/"s2sin"; ones still authenticating are "_unauthed").
    `local out, inn = 0, 0; ` +
    `for _, name in ipairs({ ${domain}, "conference." .. ${domain} }) do ` +
    `local h = prosody.hosts[name]; if h and h.s2sout then for _, s in pairs(h.s2sout) do if s.type == "s2sout" then out = out + 1 end end end ` +
    `end; ` +
    `for s in pairs(prosody.incoming_s2s) do if s.type == "s2sin" then inn = inn + 1 end end; ` +
    `return "census " .. table.concat(accounts, " ") .. " / " .. table.concat(tags, " ") .. " / " .. out .. " " .. inn end)()`
  );
}

/** The census answer as data; anything else is an error naming what came back. */
export function parseCensusAnswer(answer: string): ProsodyCensus {
  const match = /^census (.*) \/ (.*) \/ (\d+) (\d+)$/.exec(answer);
  if (!match) throw new Error(`unexpected answer from Prosody's account census: ${answer.slice(0, 100)}`);
  const words = (text: string | undefined) => (text ?? '').split(' ').filter((word) => word !== '');
  return { accounts: words(match[1]), inviteTags: words(match[2]), s2s: { outgoing: Number(match[3]), incoming: Number(match[4]) } };
}

/** Deletes every pending invite minted for `tag`; resolves with how many there were. */
export async function prosodyRevokeInvite(runtime: ContainerRuntime, serverId: string, invite: { domain: string; tag: string }): Promise<number> {
  const domain = assertDomain(invite.domain);
  const lua =
    `local tag = ${luaString(invite.tag)}; ` +
    invitesModule(domain) +
    `local removed = 0; ` +
    `for token, invite in pairs(require("core.storagemanager").open(${luaString(domain)}, "invite_token"):get(nil) or {}) do ` +
    `if type(invite) == "table" and invite.additional_data and invite.additional_data.${TAG} == tag then ` +
    `local ok, err = invites.delete_account_invite(token); if not ok then return nil, tostring(err) end; removed = removed + 1 ` +
    `end ` +
    `end; ` +
    `return true, "removed " .. removed`;
  const answer = await prosodyShell(runtime, serverId, 'revoke invite', luaLine(lua));
  const removed = /^removed (\d+)$/.exec(answer);
  if (!removed) throw new Error(`unexpected answer from Prosody while revoking an invite: ${answer.slice(0, 100)}`);
  return Number(removed[1]);
}
