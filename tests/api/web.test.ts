import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiHarness, type ApiHarness } from '../support/api-harness.js';

describe('the API serving the dashboard', () => {
  let harness: ApiHarness;
  let unbuilt: ApiHarness;
  const emptyDir = mkdtempSync(join(tmpdir(), 'parley-no-web-'));

  beforeAll(async () => {
    execFileSync('bash', ['web/build.sh'], { stdio: 'ignore' });
    harness = await startApiHarness();
    unbuilt = await startApiHarness({ config: (base) => ({ ...base, webDistDir: emptyDir }) });
  });

  afterAll(async () => {
    await harness?.close();
    await unbuilt?.close();
    rmSync(emptyDir, { recursive: true, force: true });
  });

  it('answers any page path with index.html, the platform zone filled in, under a self-only CSP', async () => {
    for (const url of ['/', '/servers/0b6f4c1e-1a2b-4c3d-8e9f-001122334455/users', '/domains']) {
      const page = await harness.inject({ method: 'GET', url });
      expect(page.statusCode, url).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toContain(`<meta name="parley-platform-zone" content="${harness.config.platformZone}" />`);
      expect(page.headers['content-security-policy']).toMatch(/default-src 'self'.*script-src 'self'/);
      expect(page.headers['x-frame-options']).toBe('DENY');
      expect(page.headers['cache-control']).toBe('no-cache');
    }
  });

  it('serves the hashed assets as immutable', async () => {
    const index = (await harness.inject({ method: 'GET', url: '/' })).body;
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(index)?.[1];
    expect(script).toBeDefined();
    const asset = await harness.inject({ method: 'GET', url: script ?? '' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect(asset.headers['cache-control']).toContain('immutable');
  });

  it('leaves unknown API and health paths to the API\'s own 404, without the page\'s headers', async () => {
    for (const url of ['/api/v1/nothing-here', '/api', '/health/nothing']) {
      const answer = await harness.inject({ method: 'GET', url });
      expect(answer.statusCode, url).toBe(404);
      expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    const me = await harness.inject({ method: 'GET', url: '/api/v1/me' });
    expect(me.statusCode).toBe(401);
    expect(me.headers['content-security-policy']).toBeUndefined();
  });

  it('says how to build the dashboard when it is not built', async () => {
    const page = await unbuilt.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(503);
    expect(page.body).toMatch(/not been built.*\.\/parley up/);
  });
});
