// A minimal ustar writer and reader: the engine's archive endpoints are the only way to place
// files into a volume of a container that has not started (or has a read-only root), a backup
// carries its metadata as the first entry of its archive, and the format is small enough not to
// need a dependency.
const BLOCK = 512;

export function tarHeader(name: string, options: { mode: number; uid: number; gid: number; size: number; type: '0' | '5' }): Buffer {
  const header = Buffer.alloc(BLOCK);
  const octal = (value: number, width: number) => `${value.toString(8).padStart(width - 1, '0')}\0`;
  const [prefix, rest] = splitName(name);
  header.write(rest, 0, 100, 'utf8');
  header.write(prefix, 345, 155, 'utf8');
  header.write(octal(options.mode, 8), 100, 'ascii');
  header.write(octal(options.uid, 8), 108, 'ascii');
  header.write(octal(options.gid, 8), 116, 'ascii');
  header.write(octal(options.size, 12), 124, 'ascii');
  header.write(octal(Math.floor(Date.now() / 1000), 12), 136, 'ascii');
  header.write('        ', 148, 'ascii');
  header.write(options.type, 156, 'ascii');
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return header;
}

/** ustar's two name fields: a name longer than 100 bytes is split at a slash into prefix (≤ 155) and name. */
function splitName(name: string): [string, string] {
  if (Buffer.byteLength(name) <= 100) return ['', name];
  for (let slash = name.indexOf('/'); slash > 0; slash = name.indexOf('/', slash + 1)) {
    if (Buffer.byteLength(name.slice(0, slash)) <= 155 && Buffer.byteLength(name.slice(slash + 1)) <= 100) return [name.slice(0, slash), name.slice(slash + 1)];
  }
  throw new Error(`a tar entry name of ${Buffer.byteLength(name)} bytes does not fit ustar's fields: ${name.slice(0, 80)}…`);
}

/** The content of the first regular file in a tar archive (skipping pax/GNU metadata entries). */
export function firstTarFile(archive: Buffer): Buffer {
  const file = tarEntries(archive).find((entry) => entry.type === '0' || entry.type === '\0');
  if (!file) throw new Error('archive holds no regular file');
  return file.content;
}

const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/** One regular file as tar entry bytes (header, content, padding), with no end-of-archive marker. */
export function tarFileEntry(name: string, content: Buffer, options: { mode: number; uid: number; gid: number }): Buffer {
  return Buffer.concat([tarHeader(name, { ...options, size: content.length, type: '0' }), content, padding(content.length)]);
}

function entrySize(header: Buffer): number {
  return parseInt(header.toString('ascii', 124, 136).replace(/\0.*$/, '').trim() || '0', 8);
}

/**
 * Splits the first entry (a regular file) off a tar stream: `onEntry` gets its name and content,
 * and the generator yields the bytes after it, a tar archive of its own.
 */
export async function* afterFirstEntry(source: AsyncIterable<Buffer | string>, onEntry: (name: string, content: Buffer) => void): AsyncGenerator<Buffer> {
  let pending = Buffer.alloc(0);
  let skipping = true;
  for await (const chunk of source) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (!skipping) {
      yield bytes;
      continue;
    }
    pending = Buffer.concat([pending, bytes]);
    if (pending.length < BLOCK) continue;
    const size = entrySize(pending);
    const end = BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (pending.length < end) continue;
    onEntry(pending.toString('utf8', 0, 100).replace(/\0.*$/s, ''), pending.subarray(BLOCK, BLOCK + size));
    skipping = false;
    if (pending.length > end) yield pending.subarray(end);
    pending = Buffer.alloc(0);
  }
  if (skipping) throw new Error('the archive ended before its first entry did');
}

/** One entry of a tar archive; `raw` is its bytes (with any pax header before it), to copy it as is. */
export interface TarEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  content: Buffer;
  raw: Buffer;
}

/** Every entry of a tar archive held in memory, names as the pax header or ustar prefix gives them. */
export function tarEntries(archive: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  let metaStart: number | undefined;
  let paxPath: string | undefined;
  while (offset + BLOCK <= archive.length) {
    const header = archive.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) break;
    const size = entrySize(header);
    const type = header.toString('ascii', 156, 157);
    const start = offset + BLOCK;
    const end = start + Math.ceil(size / BLOCK) * BLOCK;
    const content = archive.subarray(start, start + size);
    if (type === 'x' || type === 'L') {
      // Extended headers describe the entry after them, and travel with it.
      metaStart ??= offset;
      paxPath = type === 'L' ? content.toString('utf8').replace(/\0.*$/s, '') : (/(?:^|\n)\d+ path=([^\n]*)\n/.exec(content.toString('utf8'))?.[1] ?? paxPath);
    } else {
      const plain = header.toString('utf8', 0, 100).replace(/\0.*$/s, '');
      const prefix = header.toString('utf8', 345, 500).replace(/\0.*$/s, '');
      const field = (start: number, length: number) => parseInt(header.toString('ascii', start, start + length).replace(/\0.*$/, '').trim() || '0', 8);
      entries.push({
        name: paxPath ?? (prefix ? `${prefix}/${plain}` : plain),
        type,
        mode: field(100, 8),
        uid: field(108, 8),
        gid: field(116, 8),
        content,
        raw: archive.subarray(metaStart ?? offset, end),
      });
      metaStart = undefined;
      paxPath = undefined;
    }
    offset = end;
  }
  return entries;
}

/** A tar archive of these entries' bytes (tarHeader, tarFileEntry), closed with the end-of-archive marker. */
export function closedTar(parts: Buffer[]): Buffer {
  return Buffer.concat([...parts, Buffer.alloc(2 * BLOCK)]);
}

/** A tar archive of these entries, copied as they were read. */
export function tarOf(entries: TarEntry[]): Buffer {
  return closedTar(entries.map((entry) => entry.raw));
}
