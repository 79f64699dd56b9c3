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

/** SWARM_NODE_IMAGE, which ./parley exports; a run without it fails only the tests that use it. */
export function swarmNodeImage(): string {
  const image = testEnv().SWARM_NODE_IMAGE;
  if (!image) throw new Error('SWARM_NODE_IMAGE is not set (./parley test sets it; or: export SWARM_NODE_IMAGE=$(bash infra/swarm-node/build.sh | tail -1))');
  return image;
}

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
