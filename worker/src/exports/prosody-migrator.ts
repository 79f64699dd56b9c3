import type { Readable } from 'node:stream';
import { tarEntries, type TarEntry } from '../archive/ustar.js';
import { assertDomain } from '../contracts/domain-name.js';
import type { ContainerRuntime } from '../ports/container-runtime.js';
import { luaString } from '../provisioning/prosody-config.js';
import { DataToolError } from './data-tool-error.js';

// Prosody's own converter between its internal storage and XEP-0227 (mod_storage_xep0227), run
// on a copy of the data in a container of its own. The xep0227 driver reads and writes one file
// per user, `<user>@<host>.xml`, in the data directory.

const DATA_DIR = '/var/lib/prosody';
const CONFIG_FILE = 'parley-migrator.cfg.lua';
/** What an export carries; the driver cannot convert vCard4 or blocklist stores (it stops on them). */
const STORES = ['accounts', 'roster', 'vcard', 'private', 'pep-pubsub', 'archive-archive'] as const;
const TIMEOUT_MS = 10 * 60_000;
const MAX_OUTPUT_BYTES = 1024 * 1024 * 1024;

export function migratorConfig(domain: string): string {
  const hosts = `{ [${luaString(assertDomain(domain))}] = stores }`;
  return [
    `local stores = { ${STORES.map(luaString).join('; ')} }`,
    `internal { type = ${luaString('internal')}; path = ${luaString(DATA_DIR)}; hosts = ${hosts} }`,
    `pie { type = ${luaString('xep0227')}; path = ${luaString(DATA_DIR)}; hosts = ${hosts} }`,
    '',
  ].join('\n');
}

/** Whether a data directory entry is one of the driver's per-user files (or the run's config). */
export function isMigratorFile(name: string): boolean {
  const plain = name.replace(/^\.\//, '');
  return !plain.includes('/') && (plain.endsWith('.xml') || plain === CONFIG_FILE);
}

/** `name` as Prosody's internal storage names files and directories: every byte but letters and digits as %xx. */
export function storageName(name: string): string {
  return [...Buffer.from(name, 'utf8')].map((byte) => (/[A-Za-z0-9]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).padStart(2, '0')}`)).join('');
}

/**
 * Converts `domain`'s data: `export` from internal storage (the data in `input`) to per-user
 * XEP-0227 files, `import` from the per-user files given to internal storage. Resolves with the
 * data directory afterwards.
 */
export async function runMigrator(
  containers: ContainerRuntime,
  image: string,
  run: { domain: string; direction: 'export' | 'import'; input?: Readable; userFiles?: { path: string; content: string }[] },
): Promise<TarEntry[]> {
  const stores = run.direction === 'export' ? ['internal', 'pie'] : ['pie', 'internal'];
  // An import's file has no host-level data, which the driver reports as an error for each store
  // and goes on past: whether every user arrived is checked on the result instead.
  const keepGoing = run.direction === 'import' ? ['--keep-going'] : [];
  const result = await containers.runDataTool({
    image,
    ...(run.input ? { input: run.input } : {}),
    files: [{ path: CONFIG_FILE, content: migratorConfig(run.domain) }, ...(run.userFiles ?? [])],
    argv: ['prosody-migrator', `--config=${DATA_DIR}/${CONFIG_FILE}`, ...keepGoing, ...stores],
    timeoutMs: TIMEOUT_MS,
    maxOutputBytes: MAX_OUTPUT_BYTES,
  });
  if (result.exitCode !== 0) throw new DataToolError(`prosody-migrator (${run.direction} of ${run.domain}) exited with ${result.exitCode}: ${result.log.slice(-2_000)}`);
  return tarEntries(result.output);
}
