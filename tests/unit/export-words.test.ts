import { describe, expect, it } from 'vitest';
import type { ServerExport } from '../../web/src/api/types.js';
import { importWords } from '../../web/src/order/imports.js';
import { expiryWords, exportStatus, isDownloadable } from '../../web/src/server/exports.js';
import { underWayPollMs } from '../../web/src/server/queued-work.js';

const now = new Date('2026-11-30T12:00:00.000Z').getTime();
const minutesFrom = (minutes: number) => new Date(now + minutes * 60_000).toISOString();
const WEEK = 7 * 24 * 60;

const item = (fields: Partial<ServerExport>): ServerExport => ({
  id: '0b7c4a52-2f0e-4d61-9a53-7e8f5d1c2b3a',
  status: 'succeeded',
  requestedAt: minutesFrom(-2),
  finishedAt: minutesFrom(-1),
  expiresAt: minutesFrom(WEEK),
  sizeBytes: 2048,
  userCount: 3,
  attempts: 1,
  error: null,
  errorType: null,
  ...fields,
});

describe("a server's exports, as the Export users section words them", () => {
  it('offers a download only for a finished export that has not expired', () => {
    expect(isDownloadable(item({}), now)).toBe(true);
    expect(isDownloadable(item({ status: 'running', finishedAt: null }), now)).toBe(false);
    expect(isDownloadable(item({ status: 'failed' }), now)).toBe(false);
    expect(isDownloadable(item({ expiresAt: minutesFrom(-1) }), now)).toBe(false);
    expect(isDownloadable(item({ expiresAt: new Date(now).toISOString() }), now)).toBe(false);
  });

  it('says where each export stands, a failed attempt with the reason and whether Parley retries', () => {
    expect(exportStatus(item({}), now)).toEqual({ label: 'Ready to download', tone: 'good', detail: null });
    expect(exportStatus(item({ status: 'queued', finishedAt: null }), now)).toEqual({ label: 'Waiting to start', tone: 'busy', detail: null });
    expect(exportStatus(item({ status: 'running', finishedAt: null }), now).label).toBe('Exporting');
    const retrying = exportStatus(item({ status: 'queued', attempts: 2, error: "Converting your server's users to or from the XEP-0227 format failed." }), now);
    expect(retrying).toEqual({ label: 'Retrying', tone: 'warn', detail: "Attempt 2 failed: Converting your server's users to or from the XEP-0227 format failed. Parley tries again by itself." });
    const failed = exportStatus(item({ status: 'failed', error: 'This took longer than it should and was stopped' }), now);
    expect(failed).toEqual({ label: 'Failed', tone: 'bad', detail: 'This took longer than it should and was stopped. Parley has stopped trying this one; export again to make a new one.' });
    expect(exportStatus(item({ status: 'failed' }), now).detail).toMatch(/^Something inside Parley failed\. /);
    expect(exportStatus(item({ expiresAt: minutesFrom(-5) }), now)).toMatchObject({ label: 'Expired', tone: 'muted' });
  });

  it('says until when an export can be downloaded, with how long that is', () => {
    expect(expiryWords(item({}), now)).toMatch(/ \(in 7 days\)$/);
    expect(expiryWords(item({ expiresAt: minutesFrom(-120) }), now)).toMatch(/ \(2 hours ago\)$/);
    expect(expiryWords(item({ status: 'failed' }), now)).toBe('—');
  });

  it('is re-read every 2 s while one is under way, every 30 s once it has waited long, and not when nothing is', () => {
    expect(underWayPollMs([item({})], now)).toBe(false);
    expect(underWayPollMs([], now)).toBe(false);
    expect(underWayPollMs([item({ status: 'running', requestedAt: minutesFrom(-1) }), item({})], now)).toBe(2_000);
    expect(underWayPollMs([item({ status: 'queued', requestedAt: minutesFrom(-30), error: 'down' })], now)).toBe(30_000);
  });
});

describe('an uploaded XEP-0227 file, as the order form words it', () => {
  it('says how many users it brings from where, and where they end up', () => {
    expect(importWords({ host: 'old.example', userCount: 2 }, 'chat.parley.example')).toBe(
      'The file holds 2 users of old.example; each keeps their name and password, at chat.parley.example instead.',
    );
    expect(importWords({ host: 'old.example', userCount: 1 }, 'x.example')).toMatch(/^The file holds 1 user of old\.example;/);
  });
});
