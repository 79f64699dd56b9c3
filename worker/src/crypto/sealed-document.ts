import { gunzipSync, gzipSync } from 'node:zlib';
import type { SecretSealer } from './secret-sealer.js';

// A document kept in one bytea column: gzipped, then sealed. Layout: format (1 byte), key
// version (4 bytes, big-endian), IV (12), auth tag (16), ciphertext.
const FORMAT = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + 4 + IV_BYTES + TAG_BYTES;
/** Bound on a document once opened, so a small column cannot inflate without end. */
const MAX_OPENED_BYTES = 1024 * 1024 * 1024;

export function sealDocument(sealer: SecretSealer, document: string, associatedData: string): Uint8Array<ArrayBuffer> {
  const sealed = sealer.sealData(gzipSync(Buffer.from(document, 'utf8')), associatedData);
  const header = Buffer.alloc(5);
  header.writeUInt8(FORMAT, 0);
  header.writeUInt32BE(sealed.keyVersion, 1);
  return Uint8Array.from(Buffer.concat([header, sealed.iv, sealed.authTag, sealed.ciphertext]));
}

export function openDocument(sealer: SecretSealer, stored: Uint8Array, associatedData: string): string {
  const bytes = Buffer.from(stored);
  if (bytes.length < HEADER_BYTES || bytes.readUInt8(0) !== FORMAT) throw new Error('not a sealed document of a format this version knows');
  const sealed = {
    keyVersion: bytes.readUInt32BE(1),
    iv: bytes.subarray(5, 5 + IV_BYTES),
    authTag: bytes.subarray(5 + IV_BYTES, HEADER_BYTES),
    ciphertext: bytes.subarray(HEADER_BYTES),
  };
  return gunzipSync(sealer.openData(sealed, associatedData), { maxOutputLength: MAX_OPENED_BYTES }).toString('utf8');
}
