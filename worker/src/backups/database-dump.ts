import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { exitAfterStreaming } from '../adapters/child-exit.js';

/** The connection string without its password, which goes to the child's environment instead (not its argv, which `ps` shows). */
function connection(databaseUrl: string, childPath: string): { url: string; env: Record<string, string> } {
  const url = new URL(databaseUrl);
  const password = decodeURIComponent(url.password);
  url.password = '';
  return { url: url.toString(), env: { PATH: childPath, ...(password ? { PGPASSWORD: password } : {}) } };
}

/** Runs a PostgreSQL client tool, feeding or draining its data through `stream`; rejects with what it said on failure. */
async function runTool(command: string, args: string[], env: Record<string, string>, stream: (child: { stdin: Writable; stdout: Readable }) => Promise<void>): Promise<void> {
  const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = await exitAfterStreaming(child, () => stream(child));
  if (exited.code !== 0) throw new Error(`${command} failed (exit code ${exited.code}): ${exited.stderr.trim().slice(0, 400)}`);
}

/** Writes a custom-format dump of the database into `sink` (pg_dump -Fc: compressed, restorable table by table). */
export function dumpDatabase(databaseUrl: string, childPath: string, sink: Writable): Promise<void> {
  const { url, env } = connection(databaseUrl, childPath);
  return runTool('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', `--dbname=${url}`], env, async (child) => {
    child.stdin.end();
    await pipeline(child.stdout, sink, { end: false });
  });
}

/** Restores a custom-format dump read from `source` into the (empty) database, stopping at the first error. */
export function restoreDatabase(databaseUrl: string, childPath: string, source: Readable): Promise<void> {
  const { url, env } = connection(databaseUrl, childPath);
  return runTool('pg_restore', ['--no-owner', '--no-privileges', '--exit-on-error', `--dbname=${url}`], env, (child) => pipeline(source, child.stdin));
}
