import { buildServerSpec } from '../server-spec.js';
import type { StepDeps } from '../step-deps.js';

export async function configureStep(deps: StepDeps, serverId: string): Promise<string> {
  const { spec } = await buildServerSpec(deps, serverId);
  await deps.prisma.server.update({ where: { id: serverId }, data: { specHash: spec.specHash } });
  return `Configuration rendered for ${spec.files.length} files (spec ${spec.specHash})`;
}
