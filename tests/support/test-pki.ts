import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface TestPki {
  caPem: string;
  /** The leaf then the CA. */
  chainPem: string;
  keyPem: string;
}

/**
 * A throwaway CA (made with openssl in `dir`) and one leaf for every domain with its conference
 * and upload names, so a test of containers needs no ACME server.
 */
export async function makeTestPki(dir: string, domains: string[]): Promise<TestPki> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const openssl = (args: string[]) => execFileAsync('openssl', args, { cwd: dir, timeout: 30_000 });
  await openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Parley swarm test CA']);
  await writeFile(join(dir, 'leaf.ext'), `subjectAltName=${domains.flatMap((d) => [d, `conference.${d}`, `upload.${d}`]).map((d) => `DNS:${d}`).join(',')}\n`);
  await openssl(['req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', `/CN=${domains[0] ?? ''}`]);
  await openssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.crt', '-days', '1', '-extfile', 'leaf.ext']);
  const caPem = await readFile(join(dir, 'ca.crt'), 'utf8');
  return { caPem, chainPem: (await readFile(join(dir, 'leaf.crt'), 'utf8')) + caPem, keyPem: await readFile(join(dir, 'leaf.key'), 'utf8') };
}
