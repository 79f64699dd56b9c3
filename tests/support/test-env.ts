import { z } from 'zod';

// The environment integration tests run against: the values infra/bootstrap/setup.sh writes to
// .parley/sandbox.env (sourced by ./parley before the tests). Parsed once, on first use, so a
// missing value fails the tests that need it with a message naming it, not an import error.
const testEnvSchema = z.object({
  DATABASE_URL: z.string().startsWith('postgresql://'),
  REDIS_URL: z.string().startsWith('redis://'),
  PDNS_API_URL: z.url(),
  PDNS_API_KEY: z.string().min(16),
  PLATFORM_ZONE: z.string().regex(/^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'a DNS name without trailing dot'),
  DNS_RESOLVER: z.string().regex(/^127\.\d+\.\d+\.\d+:\d+$/, 'a loopback HOST:PORT'),
  ACME_DIRECTORY_URL: z.url(),
  ACME_CA_BUNDLE_FILE: z.string().min(1),
  ACME_CONTACT_EMAIL: z.email(),
  PEBBLE_MANAGEMENT_URL: z.url(),
  DOCKER_SOCKET: z.string().min(1),
  PROSODY_IMAGE: z.string().min(1),
  ACME_EXTRA_ROOTS_URL: z.url(),
  /** Where setup.sh keeps services' state and configuration (coturn's, read by the calls test). */
  PARLEY_STATE_DIR: z.string().startsWith('/'),
  /** The sandbox node's address on its edge network, reachable from the host and from containers. */
  SANDBOX_EDGE_ADDRESS: z.ipv4(),
  /** The Swarm test nodes' image (infra/swarm-node/build.sh); only the Swarm tests need it. */
  SWARM_NODE_IMAGE: z.string().min(1).optional(),
  NODE_AGENT_IMAGE: z.string().min(1).optional(),
});

export type TestEnv = z.infer<typeof testEnvSchema>;

let parsed: TestEnv | undefined;

export function testEnv(): TestEnv {
  if (!parsed) {
    const result = testEnvSchema.safeParse(process.env);
    if (!result.success) {
      throw new Error(
        `test environment incomplete (run ./parley test, or: set -a; . .parley/sandbox.env; set +a):\n${z.prettifyError(result.error)}`,
      );
    }
    parsed = result.data;
  }
  return parsed;
}

const BUILT_IMAGES = { SWARM_NODE_IMAGE: 'infra/swarm-node/build.sh', NODE_AGENT_IMAGE: 'infra/node-agent/build.sh' } as const;

/** An image only some tests need, which ./parley builds and exports; a run without it fails only those. */
function builtImage(name: keyof typeof BUILT_IMAGES): string {
  const image = testEnv()[name];
  if (!image) throw new Error(`${name} is not set (./parley test sets it; or: export ${name}=$(bash ${BUILT_IMAGES[name]} | tail -1))`);
  return image;
}

/** The Docker-in-Docker node of the tests' Swarms. */
export const swarmNodeImage = () => builtImage('SWARM_NODE_IMAGE');
/** What the worker runs on a Swarm node to install its tenant firewall. */
export const nodeAgentImage = () => builtImage('NODE_AGENT_IMAGE');

/** The whole environment, for starting the platform's own processes (a worker to crash). */
export function childProcessEnv(): Record<string, string> {
  testEnv();
  return Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

const composeImagesSchema = z.object({
  PLATFORM_IMAGE: z.string().min(1),
  POSTGRES_IMAGE: z.string().min(1),
  REDIS_IMAGE: z.string().min(1),
});

/**
 * The images the Compose test runs, which ./parley test builds (infra/platform/build.sh,
 * infra/compose/build.sh) and exports; apart from testEnv() so no other test needs them.
 */
export function composeImages(): z.infer<typeof composeImagesSchema> {
  const result = composeImagesSchema.safeParse(process.env);
  if (!result.success) {
    throw new Error(`the Compose test's images are not named (./parley test builds and exports them):\n${z.prettifyError(result.error)}`);
  }
  return result.data;
}
