import { describe, expect, it } from 'vitest';
import { cloneOrderPath, cloneSourceOf, cloneWords } from '../../web/src/order/clone-source.js';
import { startWords } from '../../web/src/order/starting-data.js';
import { formatDateTime } from '../../web/src/ui/format.js';

const source = { backupId: '0b7c4a52-2f0e-4d61-9a53-7e8f5d1c2b3a', serverId: '6f1d2e3c-4b5a-4978-8c6d-5e4f3a2b1c0d' };
const paramsOf = (path: string) => new URL(path, 'https://dashboard.example').searchParams;

describe('a clone ordered from a backup', () => {
  it('opens the order form with the backup and its server in the address, and reads them back', () => {
    const path = cloneOrderPath(source);
    expect(path).toBe(`/servers/new?cloneFrom=${source.backupId}&server=${source.serverId}`);
    expect(cloneSourceOf(paramsOf(path))).toEqual(source);
  });

  it('ignores an address without both ids, or with anything else in their place', () => {
    expect(cloneSourceOf(paramsOf('/servers/new'))).toBeNull();
    expect(cloneSourceOf(paramsOf(`/servers/new?cloneFrom=${source.backupId}`))).toBeNull();
    expect(cloneSourceOf(paramsOf(`/servers/new?server=${source.serverId}`))).toBeNull();
    expect(cloneSourceOf(paramsOf(`/servers/new?cloneFrom=${source.backupId}&server=../../me`))).toBeNull();
    expect(cloneSourceOf(paramsOf(`/servers/new?cloneFrom=latest&server=${source.serverId}`))).toBeNull();
  });

  it('names the server and the time its backup stands for, and what comes along', () => {
    const backup = { requestedAt: '2026-11-30T11:58:00.000Z', startedAt: '2026-11-30T11:59:00.000Z', finishedAt: '2026-11-30T12:00:00.000Z' };
    expect(cloneWords('chat', backup)).toBe(
      `A clone of chat as it was at ${formatDateTime(backup.finishedAt)}: its users, passwords, contacts, archives and group chats, under the new name.`,
    );
  });

  it('says only that it is a backup of yours until the server and backup are read, or when they are no longer listed', () => {
    const words = 'A clone of one of your backups: its users, passwords, contacts, archives and group chats, under the new name.';
    expect(cloneWords(undefined, undefined)).toBe(words);
    expect(cloneWords('chat', undefined)).toBe(words);
  });

  it('says in "What happens next" what the server starts with', () => {
    expect(startWords('nothing')).toBe('then starts your XMPP server.');
    expect(startWords('file')).toBe('then starts your XMPP server with the users of your file.');
    expect(startWords('clone')).toMatch(/^then starts your XMPP server as a clone of the backup above, .*the server it was taken of stays as it is\.$/);
  });
});
