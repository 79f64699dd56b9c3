import { describe, expect, it } from 'vitest';
import { mergeUserDocuments, moveJid, readServerData, splitForDomain, Xep0227Error } from '../../worker/src/contracts/xep0227.js';

const PIE = "xmlns='urn:xmpp:pie:0'";
const userFile = (host: string, user: string, inner = '') => `<server-data ${PIE}><host jid='${host}'><user name='${user}'>${inner}</user></host></server-data>`;
const scram = (key: string) => `<scram-credentials xmlns='urn:xmpp:pie:0#scram' mechanism='SCRAM-SHA-1'><stored-key>${key}</stored-key></scram-credentials>`;
const roster = (jid: string) => `<query xmlns='jabber:iq:roster'><item jid='${jid}' subscription='both' name='Bob &amp; co'/></query>`;
const archived = (from: string, to: string) =>
  `<archive xmlns='urn:xmpp:pie:0#mam'><result xmlns='urn:xmpp:mam:2' id='1'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='${from}/phone' to='${to}' type='chat'><body>hi &lt;there&gt;</body></message></forwarded></result></archive>`;

const refusal = (text: string) => {
  try {
    readServerData(text);
  } catch (error) {
    expect(error).toBeInstanceOf(Xep0227Error);
    return (error as Error).message;
  }
  throw new Error('the document was accepted');
};

describe('XEP-0227 documents', () => {
  it('merges per-user files into one document of the host, leaving out the skipped users', () => {
    const { document, users } = mergeUserDocuments(
      'old.example',
      [userFile('old.example', 'alice', scram('A') + roster('bob@old.example')), userFile('old.example', 'admin', scram('X')), userFile('old.example', 'bob', scram('B'))],
      (name) => name === 'admin',
    );
    expect(users).toEqual(['alice', 'bob']);
    expect(document.startsWith("<?xml version='1.0'")).toBe(true);
    expect(document).toContain('<server-data xmlns="urn:xmpp:pie:0"><host jid="old.example"><user name="alice">');
    expect(document).not.toContain('admin');
    expect(readServerData(document)).toEqual({ host: 'old.example', users: ['alice', 'bob'] });
  });

  it('refuses a per-user file of another host', () => {
    expect(() => mergeUserDocuments('old.example', [userFile('other.example', 'alice')], () => false)).toThrow(/other\.example/);
  });

  it('splits a document for a new domain, moving JIDs of the old host and its subdomains, keeping the rest', () => {
    const inner = scram('A') + roster('bob@old.example') + archived('bob@old.example', 'alice@old.example') + roster('carol@elsewhere.example') + "<x jid='room@conference.old.example'/>";
    const { document } = mergeUserDocuments('old.example', [userFile('old.example', 'alice', inner), userFile('old.example', 'bob', scram('B'))], () => false);
    const parts = splitForDomain(document, 'new.example');
    expect(parts.map((p) => p.user)).toEqual(['alice', 'bob']);
    const [alice] = parts;
    expect(alice?.document).toContain('<host jid="new.example"><user name="alice">');
    expect(alice?.document).toContain('jid="bob@new.example"');
    expect(alice?.document).toContain('from="bob@new.example/phone" to="alice@new.example"');
    expect(alice?.document).toContain('jid="room@conference.new.example"');
    expect(alice?.document).toContain('jid="carol@elsewhere.example"');
    expect(alice?.document).toContain('<stored-key>A</stored-key>');
    expect(alice?.document).toContain('hi &lt;there&gt;');
    expect(alice?.document).toContain('Bob &amp; co');
    expect(alice?.document).not.toContain('old.example');
    // Each part is a document of its own that reads back as one user of the new host.
    expect(readServerData(alice?.document ?? '')).toEqual({ host: 'new.example', users: ['alice'] });
  });

  it('moves a JID only when its domain is the old host or under it', () => {
    expect(moveJid('a@old.example/r', 'old.example', 'new.example')).toBe('a@new.example/r');
    expect(moveJid('old.example', 'old.example', 'new.example')).toBe('new.example');
    expect(moveJid('a@OLD.example', 'old.example', 'new.example')).toBe('a@new.example');
    expect(moveJid('a@bold.example', 'old.example', 'new.example')).toBe('a@bold.example');
    expect(moveJid('a@x.com/old.example', 'old.example', 'new.example')).toBe('a@x.com/old.example');
  });

  it('accepts an XML declaration and comments', () => {
    expect(readServerData(`<?xml version="1.0"?>\n<!-- from elsewhere -->\n${userFile('Old.Example', 'alice')}\n`)).toEqual({ host: 'old.example', users: ['alice'] });
  });

  it('refuses what is not one well-formed document', () => {
    expect(refusal('')).toMatch(/not well-formed/);
    expect(refusal('not xml at all')).toMatch(/not well-formed/);
    expect(refusal(`<server-data ${PIE}><host jid='a.example'><user name='alice'></host></server-data>`)).toMatch(/not well-formed/);
    expect(refusal(`<server-data ${PIE}><host jid='a.example'><user name='alice'/></host>`)).toMatch(/never closed/);
    expect(refusal(userFile('a.example', 'alice') + userFile('a.example', 'bob'))).toMatch(/more than one root/);
    expect(refusal(`${userFile('a.example', 'alice')} trailing`)).toMatch(/text outside/);
  });

  it('refuses a document that is not XEP-0227', () => {
    expect(refusal("<server-data xmlns='urn:example'><host jid='a.example'/></server-data>")).toMatch(/root element must be <server-data xmlns='urn:xmpp:pie:0'>/);
    expect(refusal(`<other ${PIE}/>`)).toMatch(/not a XEP-0227 export/);
  });

  it('refuses no host, two hosts, a host without a name, and no users', () => {
    expect(refusal(`<server-data ${PIE}/>`)).toMatch(/exactly one <host>.*holds 0/);
    expect(refusal(`<server-data ${PIE}><host jid='a.example'><user name='a'/></host><host jid='b.example'><user name='b'/></host></server-data>`)).toMatch(/holds 2/);
    expect(refusal(`<server-data ${PIE}><host><user name='a'/></host></server-data>`)).toMatch(/jid attribute/);
    expect(refusal(`<server-data ${PIE}><host jid='a.example'/></server-data>`)).toMatch(/no users of a\.example/);
  });

  it('refuses a user named admin, saying to rename it', () => {
    expect(refusal(userFile('a.example', 'admin'))).toMatch(/user named "admin".*administrator\. Rename that user/);
  });

  it('refuses usernames Parley does not accept and duplicate users', () => {
    expect(refusal(userFile('a.example', 'Alice'))).toMatch(/"Alice" cannot be imported: A username may contain/);
    expect(refusal(userFile('a.example', 'a b'))).toMatch(/cannot be imported/);
    expect(refusal(`<server-data ${PIE}><host jid='a.example'><user/></host></server-data>`)).toMatch(/"" cannot be imported/);
    expect(refusal(`<server-data ${PIE}><host jid='a.example'><user name='bob'/><user name='bob'/></host></server-data>`)).toMatch(/"bob" appears twice/);
  });
});
