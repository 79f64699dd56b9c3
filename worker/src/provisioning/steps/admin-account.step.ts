import { currentAdminCredential, markAdminCredentialApplied } from '../admin-credential.js';
import { prosodyCreateOrUpdateUser } from '../prosody-accounts.js';
import { loadServer, type StepDeps } from '../step-deps.js';

export async function adminAccountStep(deps: StepDeps, serverId: string): Promise<string> {
  const server = await loadServer(deps.prisma, serverId);
  // The secret is stored before Prosody hears of it, so a crash in between converges on it.
  const credential = await currentAdminCredential(deps.prisma, deps.secrets, serverId, server.domain);
  const [username] = credential.jid.split('@');
  await prosodyCreateOrUpdateUser(deps.containers, serverId, { username: username ?? 'admin', domain: server.domain, password: credential.password });
  await markAdminCredentialApplied(deps.prisma, serverId, credential.issuance);
  return `Admin account ${credential.jid} is set up`;
}
