import { describe, expect, it } from 'vitest';
import { closedTar, tarEntries, tarFileEntry, tarHeader } from '../../worker/src/archive/ustar.js';
import { rehostData } from '../../worker/src/backups/rehost-data.js';

const FROM = 'alice.parley.test';
const TO = 'copy-1.parley.test';
const owner = { mode: 0o640, uid: 101, gid: 102 };
const dir = (name: string) => tarHeader(name, { mode: 0o750, uid: 101, gid: 102, size: 0, type: '5' });
const file = (name: string, content: string | Buffer) => tarFileEntry(name, typeof content === 'string' ? Buffer.from(content) : content, owner);
const archive = (...entries: Buffer[]) => closedTar(entries);
const contents = (tar: Buffer) => new Map(tarEntries(tar).map((e) => [e.name, e.content.toString('utf8')]));

describe('rehostData: a backup of one server moved to another domain, for a clone', () => {
  const upload = Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from(`bytes that happen to say ${FROM}`)]);
  const source = archive(
    dir('./'),
    dir('./alice%2eparley%2etest/'),
    file('./alice%2eparley%2etest/accounts/alice.dat', 'return { ["stored_key"] = "abc"; ["iteration_count"] = 10000 };\n'),
    file('./alice%2eparley%2etest/roster/alice.dat', `return { ["bob@${FROM}"] = { subscription = "both" }; ["carol@m${FROM}"] = {}; ["dave@${FROM}.example"] = {} };\n`),
    file('./alice%2eparley%2etest/archive/alice.list', `item({ with = "bob@${FROM}"; value = "<message to='bob@${FROM}/phone'><body>see https://upload.${FROM}/file and ${FROM}.</body></message>" });\n`),
    file('./conference%2ealice%2eparley%2etest/config/lobby.dat', `return { _affiliations = { ["alice@${FROM}"] = "owner" } };\n`),
    file('./upload%2ealice%2eparley%2etest/http_file_share/x.bin', upload),
    file(`./alice%2eparley%2etest/pep/${'n'.repeat(90)}.dat`, 'return {};\n'),
  );

  it('renames the host and component directories and keeps owners and modes', () => {
    const entries = tarEntries(rehostData(source, FROM, TO));
    expect(entries.map((e) => e.name)).toEqual([
      './',
      './copy%2d1%2eparley%2etest/',
      './copy%2d1%2eparley%2etest/accounts/alice.dat',
      './copy%2d1%2eparley%2etest/roster/alice.dat',
      './copy%2d1%2eparley%2etest/archive/alice.list',
      './conference%2ecopy%2d1%2eparley%2etest/config/lobby.dat',
      './upload%2ecopy%2d1%2eparley%2etest/http_file_share/x.bin',
      `./copy%2d1%2eparley%2etest/pep/${'n'.repeat(90)}.dat`,
    ]);
    for (const entry of entries) expect([entry.uid, entry.gid]).toEqual([101, 102]);
    expect(entries.find((e) => e.name.endsWith('alice.dat'))?.mode).toBe(0o640);
  });

  it("rewrites the domain's JIDs in the stores, and nothing that only looks like it", () => {
    const out = contents(rehostData(source, FROM, TO));
    expect(out.get('./copy%2d1%2eparley%2etest/accounts/alice.dat')).toBe('return { ["stored_key"] = "abc"; ["iteration_count"] = 10000 };\n');
    expect(out.get('./copy%2d1%2eparley%2etest/roster/alice.dat')).toBe(`return { ["bob@${TO}"] = { subscription = "both" }; ["carol@m${FROM}"] = {}; ["dave@${FROM}.example"] = {} };\n`);
    expect(out.get('./copy%2d1%2eparley%2etest/archive/alice.list')).toBe(
      `item({ with = "bob@${TO}"; value = "<message to='bob@${TO}/phone'><body>see https://upload.${TO}/file and ${TO}.</body></message>" });\n`,
    );
    expect(out.get('./conference%2ecopy%2d1%2eparley%2etest/config/lobby.dat')).toBe(`return { _affiliations = { ["alice@${TO}"] = "owner" } };\n`);
  });

  it('copies uploaded files byte for byte', () => {
    const copied = tarEntries(rehostData(source, FROM, TO)).find((e) => e.name.endsWith('x.bin'));
    expect(copied?.content.equals(upload)).toBe(true);
  });

  it('refuses what it cannot copy faithfully: a symbolic link', () => {
    const link = Buffer.from(tarHeader('./alice%2eparley%2etest/link', { ...owner, size: 0, type: '0' }));
    link.write('2', 156, 'ascii');
    // The checksum covers the type: recomputed as a writer would.
    link.write('        ', 148, 'ascii');
    let sum = 0;
    for (const byte of link) sum += byte;
    link.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    expect(() => rehostData(archive(link), FROM, TO)).toThrow(/symbolic link/);
  });
});
