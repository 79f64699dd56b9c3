import { assertDomain } from '../contracts/domain-name.js';
import { luaString } from '../provisioning/prosody-config.js';

/** Messages one account (or group chat) sent on one UTC day, as its archive holds them. */
export interface SentOnDay {
  /** `user`: a 1:1 archive's owner; `room`: a group chat (each of its messages is archived once). */
  kind: 'user' | 'room';
  name: string;
  day: string;
  count: number;
}

export interface ProsodyUsage {
  /** Accounts with at least one session open. */
  online: string[];
  uploadBytes: number;
  archiveBytes: number;
  sent: SentOnDay[];
}

// Lua evaluating to the usage answer that parseUsageAnswer reads, computed inside the running
// server (the census runs it in the same admin-shell line as the account census):
// - sessions from the host's live session table;
// - sizes by walking the data directories (datamanager names them with every non-alphanumeric
//   character %-encoded): the files of the upload component, and the 1:1 (`archive`) and group (`muc_log`)
//   archives, which is where a chat server's storage goes;
// - messages from the archives, only those with `when` in (since, until]: a 1:1 message is in
//   both its sender's and its recipient's archive, so it counts in its sender's only.
// Names never hold a space, a slash or a colon (nodeprep forbids them), so those separate the answer.
export function usageLua(host: string, since: Date, until: Date): string {
  const domain = luaString(assertDomain(host));
  return (
    `(function() local lfs, sm, bare = require("lfs"), require("core.storagemanager"), require("util.jid").bare; ` +
    `local host, muc, upload, since, upto = ${domain}, "conference." .. ${domain}, "upload." .. ${domain}, ${epochSeconds(since)}, ${epochSeconds(until)}; ` +
    `local function dir(h) return prosody.paths.data .. "/" .. (h:gsub("%W", function(c) return ("%%%02x"):format(c:byte()) end)) end; ` +
    `local function size(path) local a = lfs.attributes(path); if not a then return 0 end; if a.mode == "file" then return a.size end; ` +
    `if a.mode ~= "directory" then return 0 end; local total = 0; ` +
    `for name in lfs.dir(path) do if name ~= "." and name ~= ".." then total = total + size(path .. "/" .. name) end end; return total end; ` +
    `local online = {}; for username in pairs((prosody.hosts[host] or {}).sessions or {}) do online[#online + 1] = username end; ` +
    `local sent = {}; ` +
    `local function count(kind, store_host, store, mine) local archive = sm.open(store_host, store, "archive"); ` +
    `for name in archive:users() do local days = {}; ` +
    `for _, item, when in archive:find(name, { start = since }) do ` +
    `if when > since and when <= upto and (not mine or bare(item.attr.from) == name .. "@" .. host) then ` +
    `local day = os.date("!%Y-%m-%d", when); days[day] = (days[day] or 0) + 1 end end; ` +
    `for day, n in pairs(days) do sent[#sent + 1] = kind .. ":" .. name .. ":" .. day .. ":" .. n end end end; ` +
    `count("user", host, "archive", true); count("room", muc, "muc_log", false); ` +
    `return "usage " .. table.concat(online, " ") .. " / " .. size(dir(upload) .. "/http_file_share") .. " " .. (size(dir(host) .. "/archive") + size(dir(muc) .. "/muc_log")) .. " / " .. table.concat(sent, " ") end)()`
  );
}

const epochSeconds = (date: Date) => Math.floor(date.getTime() / 1000);

const ANSWER = /^usage (.*) \/ (\d+) (\d+) \/ (.*)$/;
const SENT = /^(user|room):([^:]+):(\d{4}-\d{2}-\d{2}):(\d+)$/;

/** The shell's answer as data; anything else is an error naming what came back. */
export function parseUsageAnswer(answer: string): ProsodyUsage {
  const match = ANSWER.exec(answer);
  if (!match) throw new Error(`unexpected answer from Prosody's usage count: ${answer.slice(0, 100)}`);
  const words = (text: string | undefined) => (text ?? '').split(' ').filter((word) => word !== '');
  const sent = words(match[4]).map((word) => {
    const part = SENT.exec(word);
    if (!part) throw new Error(`unexpected message count from Prosody's usage count: ${word.slice(0, 100)}`);
    return { kind: part[1] as SentOnDay['kind'], name: part[2] ?? '', day: part[3] ?? '', count: Number(part[4]) };
  });
  return { online: words(match[1]), uploadBytes: Number(match[2]), archiveBytes: Number(match[3]), sent };
}
