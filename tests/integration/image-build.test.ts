import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, cp, mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unlessGone } from '../support/unless-gone.js';

const execFileAsync = promisify(execFile);

// A test-only repository: cleanup removes exactly the tags this file built under it.
const REPO = 'parley-test/prosody';
const INFRA_DIR = fileURLToPath(new URL('../../infra', import.meta.url));
// Generous enough for a cold debootstrap base on a fresh machine; later runs reuse that base.
const BUILD_TIMEOUT_MS = 900_000;
const STREAM_HEADER =
  "<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' " +
  "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

async function run(file: string, args: string[], timeoutMs = 30_000): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync(file, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' });
}

const docker = (args: string[], timeoutMs?: number) => run('docker', args, timeoutMs);

interface BuildResult {
  tag: string;
  stderr: string;
}

// --offline: the debootstrap path with its cached base, the same on every machine.
async function build(dir: string): Promise<BuildResult> {
  const { stdout, stderr } = await run(join(dir, 'build.sh'), ['--offline', '--repo', REPO], BUILD_TIMEOUT_MS);
  return { tag: stdout.trimEnd().split('\n').at(-1) ?? '', stderr };
}

async function imageField(tag: string, format: string): Promise<string> {
  return (await docker(['image', 'inspect', '-f', format, tag])).stdout.trim();
}

async function imageIds(): Promise<string[]> {
  const { stdout } = await docker(['images', '-q', '--no-trunc', '--filter', `reference=${REPO}`]);
  return stdout.split('\n').filter(Boolean).sort();
}

// One attempt: open a c2s stream and collect the server's answer up to its stream features.
function streamFeatures(port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = '';
    const finish = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(received);
    };
    const timer = setTimeout(() => finish(new Error(`no stream features within ${timeoutMs} ms`)), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(STREAM_HEADER));
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.includes('</stream:features>')) finish();
    });
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error(`connection closed after: ${received || '(nothing)'}`)));
  });
}

async function waitForStreamFeatures(port: number, deadlineMs: number): Promise<string> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await streamFeatures(port, 2_000);
    } catch (error) {
      // docker-proxy accepts and closes until Prosody listens: retry until the deadline.
      if (Date.now() > deadline) throw error;
      await sleep(200);
    }
  }
}

// One input folder built, built again, changed and run, in order: each step reads the build before it.
describe('infra/image/build.sh', { shuffle: false }, () => {
  const suffix = randomBytes(4).toString('hex');
  const container = `parley-test-image-build-${suffix}`;
  const volume = `parley-test-image-build-${suffix}`;
  const builtTags = new Set<string>();
  let root = '';
  let dir = '';
  let first: BuildResult;
  let changed: BuildResult;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'parley-image-'));
    dir = join(root, 'image');
    await cp(join(INFRA_DIR, 'image'), dir, { recursive: true });
    // build.sh sources ../lib/image-build.sh.
    await cp(join(INFRA_DIR, 'lib'), join(root, 'lib'), { recursive: true });
    // A fresh tag on every run, so "the first run builds" holds even after an aborted run.
    await appendFile(join(dir, 'prosody.cfg.lua'), `-- image-build test ${suffix}\n`);
  });

  afterAll(async () => {
    await docker(['rm', '-f', '-v', container]).catch(unlessGone);
    await docker(['volume', 'rm', volume]).catch(unlessGone);
    for (const tag of builtTags) {
      // By tag, never by id: an image shared with another tag keeps that tag.
      await docker(['rmi', tag], 120_000).catch(unlessGone);
    }
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('builds an image tagged and labelled by the hash of its inputs', async () => {
    first = await build(dir);
    builtTags.add(first.tag);

    expect(first.tag).toMatch(/^parley-test\/prosody:[0-9a-f]{12}$/);
    expect(first.stderr).not.toContain('up to date');
    const hash = await imageField(first.tag, '{{ index .Config.Labels "parley.inputs-hash" }}');
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(first.tag.endsWith(`:${hash.slice(0, 12)}`)).toBe(true);
    expect(await imageField(first.tag, '{{ index .Config.Labels "parley.image" }}')).toBe('prosody');
    expect(await imageField(first.tag, '{{ .Config.User }}')).toBe('prosody');
  }, BUILD_TIMEOUT_MS);

  it('skips a second run: same tag, no new image', async () => {
    const idBefore = await imageField(first.tag, '{{ .Id }}');
    const idsBefore = await imageIds();

    const second = await build(dir);

    expect(second.tag).toBe(first.tag);
    expect(second.stderr).toContain(`prosody image up to date: ${first.tag}`);
    expect(await imageField(first.tag, '{{ .Id }}')).toBe(idBefore);
    expect(await imageIds()).toEqual(idsBefore);
  }, BUILD_TIMEOUT_MS);

  it('builds a new tag when an input changes', async () => {
    await appendFile(join(dir, 'prosody.cfg.lua'), '-- changed input\n');

    changed = await build(dir);
    builtTags.add(changed.tag);

    expect(changed.tag).toMatch(/^parley-test\/prosody:[0-9a-f]{12}$/);
    expect(changed.tag).not.toBe(first.tag);
    expect(changed.stderr).not.toContain('up to date');
    const hash = await imageField(changed.tag, '{{ index .Config.Labels "parley.inputs-hash" }}');
    expect(changed.tag.endsWith(`:${hash.slice(0, 12)}`)).toBe(true);
  }, BUILD_TIMEOUT_MS);

  it('runs hardened and speaks XMPP on a port published on 127.0.0.1', async () => {
    await docker(['volume', 'create', '--label', 'parley.test=image-build', volume]);
    await docker([
      'run', '-d', '--name', container, '--label', 'parley.test=image-build',
      '--read-only', '--tmpfs', '/tmp', '--tmpfs', '/run/prosody',
      '-v', `${volume}:/var/lib/prosody`,
      '--user', 'prosody', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
      '--memory', '128m', '--memory-swap', '128m', '--pids-limit', '64',
      '-p', '127.0.0.1::5222',
      changed.tag,
    ]);
    const published = (await docker(['port', container, '5222/tcp'])).stdout.trim();
    const match = /^127\.0\.0\.1:(\d+)$/.exec(published);
    expect(match, `published as ${published}`).not.toBeNull();

    const features = await waitForStreamFeatures(Number(match?.[1]), 20_000);
    expect(features).toContain('<stream:features');

    const about = await docker(['exec', container, 'prosodyctl', 'about'], 30_000);
    expect(about.stdout).toContain('Prosody 0.12');
    const status = await docker(['exec', container, 'prosodyctl', 'status'], 30_000);
    expect(status.stdout).toContain('Prosody is running');

    // The default config enables every Compliance Suites module: an error line means one
    // failed to load (or the hardened run broke something, like the pidfile).
    const logs = await docker(['logs', container]);
    const output = logs.stdout + logs.stderr;
    expect(output).toMatch(/cloud_notify\s+info\s+Module loaded/);
    expect(output).not.toMatch(/^\S+\s+error\s/m);
  }, 60_000);
});
