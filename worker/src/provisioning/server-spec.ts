import { createHash } from 'node:crypto';
import type { ServerContainerSpec } from '../ports/container-runtime.js';
import { PROSODY_CONFIG_VERSION, prosodyFiles, renderProsodyConfig, TRUSTED_ROOTS_FILE, type ProsodyCallsInput } from './prosody-config.js';
import { turnHostname } from '../contracts/node-names.js';
import { requireNode, type StepDeps } from './step-deps.js';
import { serverPorts } from './steps/allocate.step.js';
import { certificateKeyContext } from '../contracts/secret-contexts.js';
import { contactAddressesOf } from '../contracts/contact-addresses.js';
import { currentTurnSecret } from '../calls/turn-secret.js';

/** Ports Prosody listens on inside every container; the node maps its allocated ports onto them. */
/** What a server's row records once the files of `spec` are on its volume. */
export const installedSpec = (spec: Pick<ServerContainerSpec, 'specHash'>) => ({ specHash: spec.specHash, configVersion: PROSODY_CONFIG_VERSION });

export const CONTAINER_PORTS = { c2s: 5222, c2s_direct_tls: 5223, s2s: 5269, https: 5281 } as const;

const MiB = 1024 * 1024;

/**
 * Everything the container step needs, derived from the database alone, so that every run (and
 * every re-run after a crash) computes the same spec and the same hash.
 */
export async function buildServerSpec(deps: StepDeps, serverId: string): Promise<{ spec: ServerContainerSpec; host: string; c2sPort: number; domain: string }> {
  const server = await requireNode(deps.prisma, serverId);
  const ports = await serverPorts(deps.prisma, serverId);
  const certificate = await deps.prisma.certificate.findFirst({
    where: { serverId, status: 'active' },
    orderBy: { createdAt: 'desc' },
    include: { privateKey: true },
  });
  if (!certificate?.chainPem || !certificate.privateKey) {
    throw new Error(`server ${serverId} has no active certificate: the certificate step has not run`);
  }
  const roots = await deps.settings.trustedRoots();
  // In coturn's store before the config that hands out credentials under it is written.
  const turnSecret = deps.calls && (await currentTurnSecret({ prisma: deps.prisma, secrets: deps.secrets, store: deps.calls.turnSecrets }, serverId));
  const calls: ProsodyCallsInput | undefined = deps.calls && {
    host: server.node.publicAddress,
    port: deps.calls.turnPort,
    user: serverId,
    credentialTtlSeconds: deps.calls.credentialTtlSeconds,
    ...(server.node.turnTlsPort === null ? {} : { tls: { host: turnHostname(server.node.hostname), port: server.node.turnTlsPort } }),
  };
  const config = renderProsodyConfig({
    domain: server.domain,
    adminJid: `admin@${server.domain}`,
    federation: server.federation,
    ports: { https: ports.https },
    storageQuotaBytes: server.plan.storageMiB * MiB,
    extraTrustedRoots: roots !== undefined,
    contacts: contactAddressesOf(server.contactAddresses),
    ...(deps.settings.platformZone.endsWith('.test') ? { specialUseTld: 'test' as const } : {}),
    ...(calls ? { calls } : {}),
  });
  const files = [
    ...prosodyFiles({
      config,
      chainPem: certificate.chainPem,
      privateKeyPem: deps.secrets.open(certificate.privateKey, certificateKeyContext(serverId)),
      domain: server.domain,
      ...(turnSecret && calls ? { turn: { secret: turnSecret.value, calls } } : {}),
    }),
    ...(roots === undefined ? [] : [{ path: TRUSTED_ROOTS_FILE, content: roots.join('\n'), mode: 0o644 }]),
  ];
  const withoutHash = {
    serverId,
    image: deps.settings.prosodyImage,
    hostIp: server.node.publicAddress,
    network: deps.settings.tenantNetwork,
    dns: deps.settings.containerDns,
    ports: (Object.keys(CONTAINER_PORTS) as (keyof typeof CONTAINER_PORTS)[]).map((purpose) => ({
      containerPort: CONTAINER_PORTS[purpose],
      hostPort: ports[purpose],
    })),
    limits: {
      memoryBytes: server.plan.memoryMiB * MiB,
      nanoCpus: server.plan.cpuMillis * 1_000_000,
      pidsLimit: server.plan.pidsLimit,
    },
    files,
  };
  // The certificate serial stands in for the key and chain, and the TURN secret's version for
  // the secret, which must not feed a hash that is stored and shown in clear.
  const specHash = createHash('sha256')
    .update(JSON.stringify({ ...withoutHash, files: files.map((f) => (f.secret ? { path: f.path } : f)), certificate: certificate.serial, turnSecretVersion: turnSecret?.version }))
    .digest('hex')
    .slice(0, 16);
  // The node is out of the hash: moving to another node changes hostIp, which is in it.
  return { spec: { ...withoutHash, node: server.node.name, specHash }, host: server.node.publicAddress, c2sPort: ports.c2s, domain: server.domain };
}
