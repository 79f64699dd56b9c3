import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  configVolumeName,
  containerCreateOptions,
  containerName,
  dataVolumeName,
  DockerContainerRuntime,
  LABEL_SERVER,
} from '../../worker/src/adapters/docker.container-runtime.js';
import { XmppClientProbe } from '../../worker/src/adapters/xmpp-client.xmpp-probe.js';
import { closedTar, tarEntries, tarFileEntry } from '../../worker/src/archive/ustar.js';
import { ForeignObjectError, ServerContainerNotFoundError, type ServerContainerSpec } from '../../worker/src/ports/container-runtime.js';
import { XmppProbeError, type XmppLoginRequest } from '../../worker/src/ports/xmpp-probe.js';
import { prosodyCreateOrUpdateUser, prosodyDeleteUser, prosodyListUsers } from '../../worker/src/provisioning/prosody-accounts.js';
import { luaString, prosodyFiles, renderProsodyConfig } from '../../worker/src/provisioning/prosody-config.js';
import { waitForServerAnswering } from '../../worker/src/provisioning/server-answering.js';
import { waitForXmppService, XmppServiceNotReadyError } from '../../worker/src/provisioning/xmpp-readiness.js';
import { tcpOpens } from '../support/tcp-open.js';
import { testEnv } from '../support/test-env.js';
import { connectAs, nextMessage, sendMessage, sendPresence } from '../support/xmpp.js';
import { unlessGone } from '../support/unless-gone.js';

const execFileAsync = promisify(execFile);
const MiB = 1024 * 1024;
const HOST = '127.0.0.1';
const TENANT_NETWORK = 'parley-tenants';
/** Only recorded here (no lookup is made): any address shows the engine passes it on. */
const DNS = '192.0.2.53';

interface Pki {
  caPem: string;
  otherCaPem: string;
  /** Leaf for the domain and its two components, followed by the CA (a chain, like ACME's). */
  chainPem: string;
  keyPem: string;
  /** Signed by the trusted CA, but for another name. */
  wrongNameChainPem: string;
  wrongNameKeyPem: string;
}

/** The probe's error for an attempt that must fail; a success fails the test. */
async function refusal(attempt: Promise<unknown>): Promise<XmppProbeError> {
  const outcome = await attempt.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof XmppProbeError)) throw new Error(`expected an XmppProbeError, got ${String(outcome)}`);
  return outcome;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await execFileAsync('openssl', args, { cwd, timeout: 30_000 });
}

/** A throwaway CA and leaves made with openssl, so this test needs no ACME server. */
async function makePki(dir: string, domain: string): Promise<Pki> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Parley test CA'], dir);
  await openssl(['req', '-x509', ...ec, '-keyout', 'other-ca.key', '-out', 'other-ca.crt', '-days', '2', '-subj', '/CN=Parley other CA'], dir);
  const leaf = async (name: string, sans: string[]) => {
    await writeFile(join(dir, `${name}.ext`), `subjectAltName=${sans.map((s) => `DNS:${s}`).join(',')}\n`);
    await openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${sans[0]}`], dir);
    await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`], dir);
  };
  await leaf('leaf', [domain, `conference.${domain}`, `upload.${domain}`]);
  await leaf('wrong', [`not-${domain}`]);
  const read = (file: string) => readFile(join(dir, file), 'utf8');
  const caPem = await read('ca.crt');
  return {
    caPem,
    otherCaPem: await read('other-ca.crt'),
    chainPem: (await read('leaf.crt')) + caPem,
    keyPem: await read('leaf.key'),
    wrongNameChainPem: (await read('wrong.crt')) + caPem,
    wrongNameKeyPem: await read('wrong.key'),
  };
}

interface TestServer {
  id: string;
  domain: string;
  ports: { c2s: number; c2sDirectTls: number; s2s: number; https: number };
}

/**
 * Host ports from a block of the range setup.sh reserves that no harness uses: the kernel never
 * hands these out for outgoing connections, unlike a port it picked (listen on 0) and another
 * process could hold by the time the engine publishes it ("port is already allocated").
 */
const PORT_BLOCK = { first: 47_400, last: 47_999 };
let nextPort = PORT_BLOCK.first;
async function blockPort(): Promise<number> {
  while (nextPort <= PORT_BLOCK.last) {
    const port = nextPort++;
    if (!(await tcpOpens('127.0.0.1', port))) return port;
  }
  throw new Error(`no free port left in ${PORT_BLOCK.first}-${PORT_BLOCK.last}`);
}

async function newServer(): Promise<TestServer> {
  const id = randomUUID();
  return {
    id,
    domain: `s${id.slice(0, 8)}.parley.test`,
    ports: { c2s: await blockPort(), c2sDirectTls: await blockPort(), s2s: await blockPort(), https: await blockPort() },
  };
}

function specFor(server: TestServer, pki: Pki, specHash: string, image: string): ServerContainerSpec {
  const config = renderProsodyConfig({
    domain: server.domain,
    adminJid: `admin@${server.domain}`,
    federation: false,
    ports: { https: server.ports.https },
    storageQuotaBytes: 256 * MiB,
  });
  return {
    serverId: server.id,
    node: 'local',
    image,
    specHash,
    hostIp: HOST,
    network: TENANT_NETWORK,
    dns: [DNS],
    ports: [
      { containerPort: 5222, hostPort: server.ports.c2s },
      { containerPort: 5223, hostPort: server.ports.c2sDirectTls },
      { containerPort: 5269, hostPort: server.ports.s2s },
      { containerPort: 5281, hostPort: server.ports.https },
    ],
    limits: { memoryBytes: 128 * MiB, nanoCpus: 500_000_000, pidsLimit: 64 },
    files: prosodyFiles({ config, chainPem: pki.chainPem, privateKeyPem: pki.keyPem, domain: server.domain }),
  };
}

describe('DockerContainerRuntime against the real engine', () => {
  const docker = new Docker({ socketPath: testEnv().DOCKER_SOCKET });
  const runtime = new DockerContainerRuntime(docker);
  const probe = new XmppClientProbe();
  const image = testEnv().PROSODY_IMAGE;
  const usedIds: string[] = [];
  // Unlabelled objects with names like Parley's: they belong to "someone else" and must survive.
  const foreignContainers: string[] = [];
  const foreignVolumes: string[] = [];
  let dir = '';
  let pki: Pki;
  let server: TestServer;
  let firstId = '';

  const login = (overrides: Partial<XmppLoginRequest> = {}) =>
    probe.login({
      host: HOST,
      port: server.ports.c2s,
      domain: server.domain,
      username: 'admin',
      password: 'second-password',
      trustedCaPems: [pki.caPem],
      timeoutMs: 15_000,
      ...overrides,
    });

  const track = async () => {
    const s = await newServer();
    usedIds.push(s.id);
    return s;
  };

  beforeAll(async () => {
    server = await track();
    dir = await mkdtemp(join(tmpdir(), 'parley-runtime-'));
    pki = await makePki(dir, server.domain);
    const foreign = await docker.createContainer({ name: `${containerName(server.id)}-foreign`, Image: image, Labels: {} });
    foreignContainers.push(foreign.id);
    const volume = `${dataVolumeName(server.id)}-foreign`;
    await docker.createVolume({ Name: volume });
    foreignVolumes.push(volume);
  });

  afterAll(async () => {
    for (const id of usedIds) {
      await runtime.removeServer(id);
      // By label, in case a test failed before the runtime could clean up.
      const filters = { label: [`${LABEL_SERVER}=${id}`] };
      for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true, v: true });
      for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) await docker.getVolume(v.Name).remove();
    }
    for (const id of foreignContainers) await docker.getContainer(id).remove({ force: true, v: true }).catch(unlessGone);
    for (const name of foreignVolumes) await docker.getVolume(name).remove().catch(unlessGone);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  // One container's life, in order: each step starts from what the one before left.
  describe('one server\'s container, from creation to removal', { shuffle: false }, () => {
    it('creates one container and two labelled volumes, hardened', async () => {
      const { containerId, reused, phasesMs } = await runtime.ensureServer(specFor(server, pki, 'hash-a', image));
      firstId = containerId;
      expect(reused).toBe(false);
      // Where the start's time went, each phase timed.
      expect(Object.keys(phasesMs).sort()).toEqual(['create', 'files', 'prepare', 'start']);
      expect(phasesMs.start).toBeGreaterThan(0);

      const info = await docker.getContainer(containerId).inspect();
      expect(info.Name).toBe(`/${containerName(server.id)}`);
      expect(info.Config.Labels).toMatchObject({ 'parley.server': server.id, 'parley.managed': 'true', 'parley.spec-hash': 'hash-a' });
      expect(info.Config.User).toBe('prosody');
      const host = info.HostConfig;
      expect(host.ReadonlyRootfs).toBe(true);
      expect(host.CapDrop).toEqual(['ALL']);
      expect(host.CapAdd ?? []).toEqual([]);
      expect(host.Privileged).toBe(false);
      expect(host.SecurityOpt).toEqual(['no-new-privileges']);
      expect(host.Memory).toBe(128 * MiB);
      expect(host.MemorySwap).toBe(host.Memory);
      expect(host.NanoCpus).toBe(500_000_000);
      expect(host.PidsLimit).toBe(64);
      expect(host.RestartPolicy).toMatchObject({ Name: 'unless-stopped' });
      // Alone among other tenants: on the tenant network, whose containers cannot reach each other.
      expect(host.NetworkMode).toBe(TENANT_NETWORK);
      expect(host.Dns).toEqual([DNS]);
      expect(Object.keys(info.NetworkSettings.Networks)).toEqual([TENANT_NETWORK]);
      const network = await docker.getNetwork(TENANT_NETWORK).inspect();
      expect(network.Options).toMatchObject({ 'com.docker.network.bridge.enable_icc': 'false', 'com.docker.network.bridge.name': TENANT_NETWORK });
      expect(network.Labels).toMatchObject({ 'parley.managed': 'true', 'parley.role': 'tenants' });
      expect(host.LogConfig).toEqual({ Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } });
      expect(Object.keys(host.Tmpfs ?? {}).sort()).toEqual(['/run/prosody', '/tmp']);
      const bindings = Object.values(host.PortBindings as Record<string, { HostIp: string; HostPort: string }[]>).flat();
      expect(bindings).toHaveLength(4);
      for (const binding of bindings) expect(binding.HostIp).toBe(HOST);
      expect(bindings.map((b) => Number(b.HostPort)).sort()).toEqual(Object.values(server.ports).sort());
      // What the engine actually published, not only what was asked.
      const published = Object.values(info.NetworkSettings.Ports).flat().filter((p): p is { HostIp: string; HostPort: string } => p !== null);
      expect(published.length).toBeGreaterThan(0);
      for (const port of published) expect(port.HostIp).toBe(HOST);

      expect(info.Mounts.map((m) => [m.Name, m.Destination, m.RW]).sort()).toEqual(
        [
          [configVolumeName(server.id), '/etc/parley', true],
          [dataVolumeName(server.id), '/var/lib/prosody', true],
        ].sort(),
      );
      for (const name of [dataVolumeName(server.id), configVolumeName(server.id)]) {
        expect((await docker.getVolume(name).inspect()).Labels).toMatchObject({ 'parley.server': server.id, 'parley.managed': 'true' });
      }
      const owned = await runtime.listOwned(server.id);
      const byPort = (ports: { containerPort: number; hostPort: number }[]) => [...ports].sort((a, b) => a.containerPort - b.containerPort);
      const wanted = byPort([
        { containerPort: 5222, hostPort: server.ports.c2s },
        { containerPort: 5223, hostPort: server.ports.c2sDirectTls },
        { containerPort: 5269, hostPort: server.ports.s2s },
        { containerPort: 5281, hostPort: server.ports.https },
      ]).map((p) => ({ ...p, hostIp: HOST }));
      const address = expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/) as unknown as string;
      expect(owned.containers.map((c) => ({ ...c, ports: byPort(c.ports) }))).toEqual([{ id: containerId, serverId: server.id, specHash: 'hash-a', state: 'running', node: null, ports: wanted, address }]);
      // The engine's list, which the full pass reads, says the same as the single-server inspect.
      const listed = (await runtime.listOwned()).containers.find((c) => c.serverId === server.id);
      expect(byPort(listed?.ports ?? [])).toEqual(wanted);
      expect(listed?.address).toBe(owned.containers[0]?.address);
      expect(owned.volumes.map((v) => v.name).sort()).toEqual([configVolumeName(server.id), dataVolumeName(server.id)].sort());
    });

    it('stats config files through the listed container, and tells a missing file from a missing container', async () => {
      const [container] = (await runtime.listOwned(server.id)).containers;
      if (!container) throw new Error('the container is not listed');
      expect(await runtime.missingFiles(container, ['prosody.cfg.lua', 'certs/not-there.crt'])).toEqual(['certs/not-there.crt']);
      await expect(runtime.missingFiles({ ...container, id: 'f'.repeat(64) }, ['prosody.cfg.lua'])).rejects.toBeInstanceOf(ServerContainerNotFoundError);
    });

    it('answers XMPP with STARTTLS on the published port', async () => {
      const ready = await waitForXmppService({ host: HOST, port: server.ports.c2s, domain: server.domain, timeoutMs: 20_000 });
      expect(ready.attempts).toBeGreaterThanOrEqual(1);
      const logs = (await docker.getContainer(firstId).logs({ stdout: true, stderr: true })).toString('utf8');
      expect(logs).toContain('Activated service \'c2s\'');
      expect(logs).not.toMatch(/\s(error|warn)\s/);
    });

    it('wrote the files root-owned with their modes, the key for the prosody group only, none writable by Prosody', async () => {
      const key = `certs/${server.domain}.key`;
      const crt = `certs/${server.domain}.crt`;
      const stat = await runtime.exec(server.id, ['stat', '-c', '%U:%G %a %n', '/etc/parley', '/etc/parley/certs', '/etc/parley/prosody.cfg.lua', `/etc/parley/${crt}`, `/etc/parley/${key}`]);
      expect(stat.exitCode).toBe(0);
      expect(stat.stdout.trim().split('\n')).toEqual([
        'root:root 755 /etc/parley',
        'root:root 755 /etc/parley/certs',
        'root:root 644 /etc/parley/prosody.cfg.lua',
        `root:root 644 /etc/parley/${crt}`,
        `root:prosody 440 /etc/parley/${key}`,
      ]);
      expect((await runtime.exec(server.id, ['cat', `/etc/parley/${key}`])).stdout).toBe(pki.keyPem);
      const tamper = await runtime.exec(server.id, ['sh', '-c', 'echo x >> /etc/parley/prosody.cfg.lua || exit 7; echo y > /etc/parley/new || exit 8']);
      expect(tamper.exitCode).toBe(7);
      const rootfs = await runtime.exec(server.id, ['sh', '-c', 'touch /var/tmp/x 2>&1']);
      expect(rootfs.exitCode).not.toBe(0);
      expect(rootfs.stdout).toContain('Read-only file system');
    });

    it('execs with stdin and reports exit codes and both output streams', async () => {
      expect(await runtime.exec(server.id, ['cat'], 'line one\nline two\n')).toEqual({ exitCode: 0, stdout: 'line one\nline two\n', stderr: '' });
      expect(await runtime.exec(server.id, ['sh', '-c', 'echo out; echo err >&2; exit 3'])).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    });

    it('luaString round-trips every byte through the image\'s Lua', async () => {
      let tricky = '"\\\n\r]]--[[\u0000\t\u007f\'é😀 end';
      for (let code = 1; code < 128; code++) tricky += String.fromCharCode(code);
      const result = await runtime.exec(server.id, ['lua5.4', '-'], `io.write(${luaString(tricky)})`);
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe(tricky);
    });

    it('creates an account, and a second run converges on the new password', async () => {
      const since = Math.floor(Date.now() / 1000) - 1;
      const account = { username: 'admin', domain: server.domain };
      expect(await prosodyCreateOrUpdateUser(runtime, server.id, { ...account, password: 'first-password' })).toBe('created');
      expect(await prosodyCreateOrUpdateUser(runtime, server.id, { ...account, password: 'second-password' })).toBe('updated');
      expect(await prosodyCreateOrUpdateUser(runtime, server.id, { ...account, password: 'second-password' })).toBe('updated');
      expect(await prosodyListUsers(runtime, server.id, server.domain)).toEqual([`admin@${server.domain}`]);

      // The password never reached a command line: the engine's events name each exec's argv.
      const events = await docker.getEvents({ since, until: Math.ceil(Date.now() / 1000), filters: { container: [firstId], event: ['exec_start'] } });
      let log = '';
      for await (const chunk of events) log += String(chunk);
      expect(log).toContain(`prosodyctl passwd admin@${server.domain}`);
      expect(log).not.toContain('first-password');
      expect(log).not.toContain('second-password');

      await expect(login({ password: 'first-password' })).rejects.toMatchObject({ failure: 'auth' });
      expect((await login()).jid).toMatch(new RegExp(`^admin@${server.domain.replace(/\./g, '\\.')}/`));

      expect(await prosodyCreateOrUpdateUser(runtime, server.id, { username: 'bob', domain: server.domain, password: 'bob-password' })).toBe('created');
      expect(await prosodyDeleteUser(runtime, server.id, { username: 'bob', domain: server.domain })).toBe('deleted');
      expect(await prosodyDeleteUser(runtime, server.id, { username: 'bob', domain: server.domain })).toBe('absent');
    });

    it('the probe logs in with the certificate verified and sees the compliance features and components', async () => {
      const result = await login();
      for (const feature of [
        'urn:xmpp:carbons:2',
        'urn:xmpp:mam:2',
        'urn:xmpp:sm:3',
        'urn:xmpp:csi:0',
        'urn:xmpp:blocking',
        'http://jabber.org/protocol/pubsub#publish',
        'urn:xmpp:ping',
      ]) {
        expect(result.features).toContain(feature);
      }
      expect(result.items).toEqual(expect.arrayContaining([`conference.${server.domain}`, `upload.${server.domain}`]));
    });

    it('serves HTTPS for upload.<domain> and direct TLS for the domain with the same certificate, verified', async () => {
      const handshake = (port: number, servername: string) =>
        new Promise<void>((resolve, reject) => {
          const socket = tlsConnect({ host: HOST, port, servername, ca: [pki.caPem] }, () => {
            socket.destroy();
            resolve();
          });
          socket.once('error', reject);
        });
      await handshake(server.ports.https, `upload.${server.domain}`);
      await handshake(server.ports.c2sDirectTls, server.domain);
    });

    it('two accounts exchange a message', async () => {
      await prosodyCreateOrUpdateUser(runtime, server.id, { username: 'carol', domain: server.domain, password: 'carol-password' });
      const request = { host: HOST, port: server.ports.c2s, domain: server.domain, trustedCaPems: [pki.caPem], timeoutMs: 15_000 };
      const admin = await connectAs({ ...request, username: 'admin', password: 'second-password' });
      const carol = await connectAs({ ...request, username: 'carol', password: 'carol-password' });
      try {
        await sendPresence(carol);
        const received = nextMessage(carol, 10_000);
        await sendMessage(admin, `carol@${server.domain}`, 'hello from the test');
        expect(await received).toEqual({ from: admin.jid, body: 'hello from the test' });
      } finally {
        await admin.close();
        await carol.close();
      }
    });

    it('the probe refuses a certificate from a CA it was not told to trust, as a certificate error', async () => {
      const started = Date.now();
      const untrusted = await refusal(login({ trustedCaPems: [pki.otherCaPem] }));
      expect(untrusted.failure).toBe('tls');
      expect(untrusted.message).toContain(`certificate for ${server.domain} not trusted`);
      // The system roots do not know the test CA either.
      expect((await refusal(login({ trustedCaPems: undefined }))).failure).toBe('tls');
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it('the probe refuses a trusted certificate for another name; a renewed certificate is picked up on reload', async () => {
      const reload = async () => expect((await runtime.exec(server.id, ['prosodyctl', 'reload'])).exitCode).toBe(0);
      const certFiles = (chainPem: string, keyPem: string) =>
        prosodyFiles({ config: '', chainPem, privateKeyPem: keyPem, domain: server.domain }).filter((f) => f.path.startsWith('certs/'));
      // Bounded wait: the reload happens on Prosody's next turn.
      const eventually = async <T>(attempt: () => Promise<T>): Promise<T> => {
        for (let i = 0; ; i++) {
          try {
            return await attempt();
          } catch (error) {
            if (i >= 20) throw error;
            await sleep(100);
          }
        }
      };

      await runtime.writeFiles(server.id, certFiles(pki.wrongNameChainPem, pki.wrongNameKeyPem));
      await reload();
      const mismatch = await eventually(() => refusal(login()));
      expect(mismatch.failure).toBe('tls');
      expect(mismatch.message).toMatch(new RegExp(`certificate for ${server.domain} not trusted:.*ERR_TLS_CERT_ALTNAME_INVALID`));

      await runtime.writeFiles(server.id, certFiles(pki.chainPem, pki.keyPem));
      await reload();
      await eventually(() => login());
    });

    it('reuses the container for the same spec hash, starting it when stopped', async () => {
      await runtime.stopServer(server.id);
      await runtime.stopServer(server.id);
      expect((await docker.getContainer(firstId).inspect()).State.Running).toBe(false);

      const again = await runtime.ensureServer(specFor(server, pki, 'hash-a', image));
      expect(again).toMatchObject({ containerId: firstId, reused: true });
      expect((await docker.getContainer(firstId).inspect()).State.Running).toBe(true);
      await waitForXmppService({ host: HOST, port: server.ports.c2s, domain: server.domain, timeoutMs: 20_000 });
    });

    it('replaces the container for another spec hash and keeps the data volume', async () => {
      const replaced = await runtime.ensureServer(specFor(server, pki, 'hash-b', image));
      expect(replaced.reused).toBe(false);
      expect(replaced.containerId).not.toBe(firstId);
      await expect(docker.getContainer(firstId).inspect()).rejects.toMatchObject({ statusCode: 404 });
      expect((await runtime.listOwned(server.id)).containers).toMatchObject([{ id: replaced.containerId, serverId: server.id, specHash: 'hash-b', state: 'running' }]);

      await waitForXmppService({ host: HOST, port: server.ports.c2s, domain: server.domain, timeoutMs: 20_000 });
      // Accounts live on the data volume: they survived the replacement.
      expect(await prosodyListUsers(runtime, server.id, server.domain)).toEqual([`admin@${server.domain}`, `carol@${server.domain}`]);
      expect((await login()).jid).toContain(`admin@${server.domain}`);
    });

    it('removeServer leaves no labelled object, runs twice, and spares look-alikes', async () => {
      await runtime.removeServer(server.id);
      await runtime.removeServer(server.id);
      const filters = { label: [`${LABEL_SERVER}=${server.id}`] };
      expect(await docker.listContainers({ all: true, filters })).toEqual([]);
      expect((await docker.listVolumes({ filters })).Volumes ?? []).toEqual([]);
      expect(await runtime.listOwned(server.id)).toEqual({ containers: [], volumes: [] });

      for (const id of foreignContainers) expect((await docker.getContainer(id).inspect()).Id).toBe(id);
      for (const name of foreignVolumes) expect((await docker.getVolume(name).inspect()).Name).toBe(name);
    });
  });

  describe('each on a server of its own', () => {
    it('converges when two runs race, or two removals, and after a crash between create and start', async () => {
      const racing = await track();
      const spec = specFor(racing, pki, 'hash-r', image);
      const [one, two] = await Promise.all([runtime.ensureServer(spec), runtime.ensureServer(spec)]);
      expect(one.containerId).toBe(two.containerId);
      expect((await runtime.listOwned(racing.id)).containers).toHaveLength(1);
      // Two removals at once (a deletion and the reconcile pass): the second waits for the
      // first's, instead of failing on a volume still in use.
      await Promise.all([runtime.removeServer(racing.id), runtime.removeServer(racing.id)]);
      expect(await runtime.listOwned(racing.id)).toEqual({ containers: [], volumes: [] });

      // A crash right after create: the container exists, stopped, with an empty config volume.
      const crashed = await track();
      const crashedSpec = specFor(crashed, pki, 'hash-c', image);
      await docker.createVolume({ Name: dataVolumeName(crashed.id), Labels: { 'parley.server': crashed.id, 'parley.managed': 'true' } });
      await docker.createVolume({ Name: configVolumeName(crashed.id), Labels: { 'parley.server': crashed.id, 'parley.managed': 'true' } });
      const staged = await docker.createContainer(containerCreateOptions(crashedSpec));
      const resumed = await runtime.ensureServer(crashedSpec);
      expect(resumed).toMatchObject({ containerId: staged.id, reused: true });
      await waitForXmppService({ host: HOST, port: crashed.ports.c2s, domain: crashed.domain, timeoutMs: 20_000 });
      await runtime.removeServer(crashed.id);
    });

    it('stops waiting for XMPP once the container has stopped or is gone, instead of until the deadline', async () => {
      const failing = await track();
      await runtime.ensureServer(specFor(failing, pki, 'hash-w', image));
      const target = { serverId: failing.id, host: HOST, port: failing.ports.c2s, domain: failing.domain };
      await waitForServerAnswering(runtime, target, 20_000);

      await runtime.stopServer(failing.id);
      await expect(waitForServerAnswering(runtime, target, 600_000)).rejects.toThrow(new XmppServiceNotReadyError(`the container of ${failing.domain} exited before XMPP answered`));
      await runtime.discardContainer(failing.id);
      await expect(waitForServerAnswering(runtime, target, 600_000)).rejects.toBeInstanceOf(ServerContainerNotFoundError);
      await runtime.removeServer(failing.id);
    });

    it('never touches a container that holds the name without the labels', async () => {
      const squatted = await track();
      const squatter = await docker.createContainer({ name: containerName(squatted.id), Image: image, Labels: { 'parley.server': squatted.id } });
      foreignContainers.push(squatter.id);

      await expect(runtime.ensureServer(specFor(squatted, pki, 'hash-s', image))).rejects.toBeInstanceOf(ForeignObjectError);
      await expect(runtime.stopServer(squatted.id)).rejects.toBeInstanceOf(ForeignObjectError);
      await runtime.removeServer(squatted.id);
      expect((await docker.getContainer(squatter.id).inspect()).Id).toBe(squatter.id);
    });

    it('joins no network that is not Parley\'s tenant network, nor one that lets containers reach each other', async () => {
      const elsewhere = await track();
      const open = `pt-open-${randomBytes(3).toString('hex')}`;
      await docker.createNetwork({ Name: open, Options: { 'com.docker.network.bridge.name': open }, Labels: { 'parley.managed': 'true', 'parley.role': 'tenants' } });
      try {
        await expect(runtime.ensureServer({ ...specFor(elsewhere, pki, 'hash-n', image), network: open })).rejects.toThrow(new ForeignObjectError(`network ${open} lets containers reach each other, or its bridge is not named ${open}: no server joins it`));
        for (const shared of ['bridge', 'host']) {
          await expect(runtime.ensureServer({ ...specFor(elsewhere, pki, 'hash-n', image), network: shared })).rejects.toThrow(/must name Parley's tenant network/);
        }
        expect((await runtime.listOwned(elsewhere.id)).containers).toEqual([]);
      } finally {
        await docker.getNetwork(open).remove();
      }
    });

    it('refuses to publish on every interface', async () => {
      const open = await track();
      await expect(runtime.ensureServer({ ...specFor(open, pki, 'hash-o', image), hostIp: '0.0.0.0' })).rejects.toThrow(/explicit IP/);
      await expect(runtime.ensureServer({ ...specFor(open, pki, 'hash-o', image), hostIp: '::' })).rejects.toThrow(/explicit IP/);
      expect(await runtime.listOwned(open.id)).toEqual({ containers: [], volumes: [] });
    });

    it('runs a data tool on a copy of data, without network, root or a server of its own, and leaves nothing behind', async () => {
      const input = closedTar([tarFileEntry('example%2ecom/accounts/alice.dat', Buffer.from('return { password = "x" };\n'), { mode: 0o644, uid: 0, gid: 0 })]);
      const script = [
        'set -e',
        'id -u > uid.txt',
        'cat example%2ecom/accounts/alice.dat > copy.txt',
        'cat tool.cfg >> copy.txt',
        // No network: only loopback, and nothing reachable through it.
        'ls /sys/class/net > interfaces.txt',
        'echo written > /etc/parley-probe 2>/dev/null && echo root-writable > rootfs.txt || echo read-only > rootfs.txt',
      ].join('\n');
      const before = await runtime.listOwned();
      const result = await runtime.runDataTool({ image, input: Readable.from([input]), files: [{ path: 'tool.cfg', content: 'configured' }], argv: ['sh', '-c', script], timeoutMs: 30_000, maxOutputBytes: MiB });
      expect(result.exitCode, result.log).toBe(0);
      const files = new Map(tarEntries(result.output).map((entry) => [entry.name.replace(/^\.\//, ''), entry.content.toString('utf8').trim()]));
      expect(files.get('uid.txt'), 'the tool runs as the image\'s prosody user, not root').not.toBe('0');
      expect(files.get('copy.txt')).toBe('return { password = "x" };\nconfigured');
      expect(files.get('interfaces.txt')?.split('\n')).toEqual(['lo']);
      expect(files.get('rootfs.txt')).toBe('read-only');
      expect(await docker.listContainers({ all: true, filters: { label: ['parley.role=data-tool'] } })).toEqual([]);
      expect((await runtime.listOwned()).containers.map((c) => c.id).sort(), 'no server container appeared or went').toEqual(before.containers.map((c) => c.id).sort());

      const failing = await runtime.runDataTool({ image, files: [], argv: ['sh', '-c', 'echo broken >&2; exit 3'], timeoutMs: 30_000, maxOutputBytes: MiB });
      expect(failing.exitCode).toBe(3);
      expect(failing.log).toContain('broken');
      await expect(runtime.runDataTool({ image, files: [], argv: ['sleep', '30'], timeoutMs: 1_000, maxOutputBytes: MiB }), 'a tool past its time is stopped').rejects.toThrow();
      await expect(runtime.runDataTool({ image, files: [{ path: '../etc/passwd', content: '' }], argv: ['true'], timeoutMs: 5_000, maxOutputBytes: MiB })).rejects.toThrow(/plain name/);
      expect(await docker.listContainers({ all: true, filters: { label: ['parley.role=data-tool'] } })).toEqual([]);
    });
  });
});
