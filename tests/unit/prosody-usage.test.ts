import { describe, expect, it } from 'vitest';
import { parseUsageAnswer } from '../../worker/src/usage/prosody-usage.js';
import { messagesPerDay } from '../../worker/src/usage/usage-sample.js';
import { parseCensusAnswer } from '../../worker/src/xmpp-users/prosody-invites.js';

describe("Prosody's usage answer", () => {
  it('reads sessions, sizes and messages per owner and day', () => {
    const usage = parseUsageAnswer('usage alice bob / 622 4688 / user:alice:2026-11-30:5 room:team:2026-11-29:3');
    expect(usage).toEqual({
      online: ['alice', 'bob'],
      uploadBytes: 622,
      archiveBytes: 4688,
      sent: [
        { kind: 'user', name: 'alice', day: '2026-11-30', count: 5 },
        { kind: 'room', name: 'team', day: '2026-11-29', count: 3 },
      ],
    });
  });

  it('reads an idle server: nobody online, nothing sent', () => {
    expect(parseUsageAnswer('usage  / 0 0 / ')).toEqual({ online: [], uploadBytes: 0, archiveBytes: 0, sent: [] });
  });

  it('refuses an answer of another shape, naming what came back', () => {
    expect(() => parseUsageAnswer('census a / b')).toThrow(/unexpected answer from Prosody's usage count: census a/);
    expect(() => parseUsageAnswer('usage  / 1 2 / user:alice:yesterday:5')).toThrow(/unexpected message count.*user:alice:yesterday:5/);
  });

  it("adds up each day's messages, leaving out compliance checks' accounts and rooms", () => {
    const usage = parseUsageAnswer('usage  / 0 0 / user:alice:2026-11-30:5 room:team:2026-11-30:3 user:parley-check-0123456789ab:2026-11-30:4 room:parley-check-abcdef012345:2026-11-30:2 user:bob:2026-11-29:1');
    expect([...messagesPerDay(usage)]).toEqual([
      ['2026-11-30', 8],
      ['2026-11-29', 1],
    ]);
  });
});

describe("Prosody's census answer", () => {
  it('reads accounts, the tags of open invites and the s2s connections', () => {
    expect(parseCensusAnswer('census admin alice / inv1 inv2 / 2 1')).toEqual({
      accounts: ['admin', 'alice'],
      inviteTags: ['inv1', 'inv2'],
      s2s: { outgoing: 2, incoming: 1 },
    });
    expect(parseCensusAnswer('census  /  / 0 0')).toEqual({ accounts: [], inviteTags: [], s2s: { outgoing: 0, incoming: 0 } });
  });

  it('refuses an answer of another shape, naming what came back', () => {
    expect(() => parseCensusAnswer('usage  / 0 0 / ')).toThrow(/unexpected answer from Prosody's account census: usage/);
  });
});
