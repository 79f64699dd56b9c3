import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { AcmeCertificateAuthority } from '../../worker/src/adapters/acme.certificate-authority.js';
import { PowerDnsProvider } from '../../worker/src/adapters/powerdns.dns-provider.js';
import type { DnsChallengeSolver } from '../../worker/src/ports/certificate-authority.js';
import type { DnsRecord } from '../../worker/src/ports/dns-provider.js';
import { waitForRecords } from '../../worker/src/provisioning/dns-propagation.js';
import { pdnsZone } from './customer-zone.js';
import { pebbleIssuers } from './pebble.js';
import { testEnv } from './test-env.js';
import { unlessGone } from './unless-gone.js';
import { until } from './until.js';

/**
 * An XMPP server that is not Parley's: a plain Prosody on a domain of its own (a zone the test
 * creates on the sandbox PowerDNS), with a certificate from the sandbox CA obtained the way any
 * operator would (ACME DNS-01), in a container on the sandbox's edge network with its ports
 * published on the edge address, where Parley's servers find it through its SRV record.
 */
export class IndependentXmppServer {
  private constructor(
    readonly domain: string,
    readonly c2sPort: number,
    private readonly container: Docker.Container,
    private readonly configDir: string,
  ) {}

  /**
   * `ports`: two free ports of the range the tenant firewall lets containers reach (s2s, then c2s).
   * `certificate`: from the sandbox CA, or self-signed (which no peer verifying certificates accepts).
   */
  static async start(options: { ports: [s2s: number, c2s: number]; image: string; address: string; certificate?: 'acme' | 'self-signed' }): Promise<IndependentXmppServer> {
    const env = testEnv();
    const domain = `elsewhere-${randomBytes(4).toString('hex')}.test`;
    const [s2sPort, c2sPort] = options.ports;
    await pdnsZone('POST', domain);
    const configDir = await mkdtemp(join(tmpdir(), 'parley-independent-xmpp-'));
    try {
      const dns = new PowerDnsProvider({ apiUrl: env.PDNS_API_URL, apiKey: env.PDNS_API_KEY, serverId: 'localhost', zone: domain });
      await dns.addRecords(domain, [
        { name: `_xmpp-server._tcp.${domain}`, type: 'SRV', ttl: 60, value: `0 5 ${s2sPort} ${domain}.` },
        { name: domain, type: 'A', ttl: 60, value: options.address },
      ]);
      const certificate = options.certificate === 'self-signed' ? selfSigned(domain, configDir) : await issueCertificate(dns, domain);
      const roots = await pebbleIssuers();
      // The container's prosody user reads these; nothing here is a real secret.
      await chmod(configDir, 0o755);
      await mkdir(join(configDir, 'certs'), { mode: 0o755 });
      await writeFile(join(configDir, 'prosody.cfg.lua'), independentConfig(domain), { mode: 0o644 });
      await writeFile(join(configDir, 'roots.pem'), roots.root.toString(), { mode: 0o644 });
      await writeFile(join(configDir, 'certs', `${domain}.crt`), certificate.chainPem, { mode: 0o644 });
      await writeFile(join(configDir, 'certs', `${domain}.key`), certificate.privateKeyPem, { mode: 0o644 });

      const docker = new Docker({ socketPath: env.DOCKER_SOCKET });
      const container = await docker.createContainer({
        name: `parley-test-independent-${domain.split('.')[0]}`,
        Image: options.image,
        Labels: { 'parley.test': 'independent-xmpp' },
        ExposedPorts: { '5222/tcp': {}, '5269/tcp': {} },
        HostConfig: {
          NetworkMode: EDGE_NETWORK,
          Dns: [options.address],
          AutoRemove: false,
          Binds: [`${configDir}:/etc/parley:ro`],
          PortBindings: {
            '5222/tcp': [{ HostIp: options.address, HostPort: String(c2sPort) }],
            '5269/tcp': [{ HostIp: options.address, HostPort: String(s2sPort) }],
          },
        },
      });
      const server = new IndependentXmppServer(domain, c2sPort, container, configDir);
      await container.start();
      await until('the independent Prosody to start', async () => ((await server.exec(['prosodyctl', 'status'])).includes('is running') ? true : null), 20_000);
      return server;
    } catch (error) {
      await rm(configDir, { recursive: true, force: true });
      await pdnsZone('DELETE', domain).catch(() => undefined);
      throw error;
    }
  }

  async register(username: string, password: string): Promise<void> {
    await this.exec(['prosodyctl', 'register', username, this.domain, password]);
  }

  async stop(): Promise<void> {
    await this.container.remove({ force: true, v: true }).catch(unlessGone);
    await rm(this.configDir, { recursive: true, force: true });
    await pdnsZone('DELETE', this.domain);
  }

  private async exec(cmd: string[]): Promise<string> {
    const exec = await this.container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${cmd.join(' ')} did not finish in 20 s`)), 20_000);
      stream.on('end', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return Buffer.concat(chunks).toString('utf8');
  }
}

/** setup.sh's edge network (see infra/bootstrap/services.sh). */
const EDGE_NETWORK = 'parley-edge';

async function issueCertificate(dns: PowerDnsProvider, domain: string) {
  const env = testEnv();
  const ca = new AcmeCertificateAuthority({ directoryUrl: env.ACME_DIRECTORY_URL, caBundle: readFileSync(env.ACME_CA_BUNDLE_FILE), pollIntervalMs: 200 });
  const txt = (name: string, value: string): DnsRecord => ({ name: `_acme-challenge.${name}`, type: 'TXT', ttl: 60, value });
  const solver: DnsChallengeSolver = {
    async present(name, value) {
      await dns.addRecords(domain, [txt(name, value)]);
      await waitForRecords(env.DNS_RESOLVER, [txt(name, value)], { timeoutMs: 5_000, intervalMs: 50 });
    },
    async cleanup(name, value) {
      await dns.removeRecords(domain, [txt(name, value)]);
    },
  };
  return ca.issue({ names: [domain], accountKeyPem: await ca.createAccountKey(), contactEmail: env.ACME_CONTACT_EMAIL, solver, beforeOrder: () => Promise.resolve() });
}

/** A certificate for the domain signed by its own key, made with openssl. */
function selfSigned(domain: string, dir: string): { chainPem: string; privateKeyPem: string } {
  const [key, crt] = [join(dir, 'self.key'), join(dir, 'self.crt')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', crt, '-days', '2', '-subj', `/CN=${domain}`, '-addext', `subjectAltName=DNS:${domain}`], { stdio: 'ignore', timeout: 10_000 });
  return { chainPem: readFileSync(crt, 'utf8'), privateKeyPem: readFileSync(key, 'utf8') };
}

/** A stock Prosody: federation with verified certificates only (s2s_secure_auth), nothing else of Parley's. */
function independentConfig(domain: string): string {
  return [
    `admins = { }`,
    `modules_enabled = { "roster"; "saslauth"; "tls"; "dialback"; "disco"; "ping" }`,
    `pidfile = "/run/prosody/prosody.pid"`,
    `log = { { levels = { min = "info" }; to = "console" } }`,
    `authentication = "internal_hashed"`,
    `storage = "internal"`,
    `c2s_require_encryption = true`,
    `s2s_require_encryption = true`,
    `s2s_secure_auth = true`,
    `certificates = "certs"`,
    `ssl = { cafile = "roots.pem" }`,
    // Like any server on the sandbox's .test names: libunbound would answer NXDOMAIN for .test itself.
    `unbound = { options = { ["local-zone:"] = "test. transparent" } }`,
    `interfaces = { "*" }`,
    `c2s_ports = { 5222 }`,
    `s2s_ports = { 5269 }`,
    `VirtualHost "${domain}"`,
    '',
  ].join('\n');
}
