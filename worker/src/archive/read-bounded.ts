/** A stream held in memory would have grown past its bound. */
export class TooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`archive larger than ${limit} bytes`);
    this.name = 'TooLargeError';
  }
}

/** All of `stream` in one buffer; past `limit` bytes it stops reading and throws TooLargeError. */
export async function readBounded(stream: AsyncIterable<Buffer | string>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size > limit) throw new TooLargeError(limit);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}
