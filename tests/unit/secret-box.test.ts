import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../worker/src/crypto/secret-box.js';

const key = () => randomBytes(32).toString('base64');

describe('SecretBox', () => {
  it('round-trips a secret and never stores the plaintext', () => {
    const box = SecretBox.fromKeyring(`1:${key()}`);
    const sealed = box.seal('correct horse battery staple', 'admin_password:srv1');
    expect(Buffer.from(sealed.ciphertext).toString('utf8')).not.toContain('horse');
    expect(box.open(sealed, 'admin_password:srv1')).toBe('correct horse battery staple');
  });

  it('refuses a ciphertext moved to another owner or tampered with', () => {
    const box = SecretBox.fromKeyring(`1:${key()}`);
    const sealed = box.seal('secret', 'admin_password:srv1');
    expect(() => box.open(sealed, 'admin_password:srv2')).toThrow();
    const tampered = { ...sealed, ciphertext: Buffer.from(sealed.ciphertext).fill(0) };
    expect(() => box.open(tampered, 'admin_password:srv1')).toThrow();
  });

  it('refuses a genuine tag cut short, which GCM would otherwise accept', () => {
    const box = SecretBox.fromKeyring(`1:${key()}`);
    const sealed = box.seal('secret', 'admin_password:srv1');
    expect(sealed.authTag).toHaveLength(16);
    expect(() => box.open({ ...sealed, authTag: sealed.authTag.subarray(0, 4) }, 'admin_password:srv1')).toThrow(/tag/i);
  });

  it('seals with the newest key and still opens what older keys sealed', () => {
    const k1 = key();
    const old = SecretBox.fromKeyring(`1:${k1}`).seal('before rotation', 'x');
    const rotated = SecretBox.fromKeyring(`1:${k1},2:${key()}`);
    expect(rotated.currentVersion).toBe(2);
    expect(rotated.isStale(old)).toBe(true);
    expect(rotated.open(old, 'x')).toBe('before rotation');
    expect(rotated.seal('after', 'x').keyVersion).toBe(2);
  });

  it('names a missing key version and rejects a malformed keyring', () => {
    const sealed = SecretBox.fromKeyring(`3:${key()}`).seal('s', 'x');
    expect(() => SecretBox.fromKeyring(`1:${key()}`).open(sealed, 'x')).toThrow('key version 3');
    expect(() => SecretBox.fromKeyring('1:tooshort')).toThrow('32-byte keys');
  });
});
