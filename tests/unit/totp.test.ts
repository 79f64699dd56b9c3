import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, matchingStep, newTotpSecret, otpauthUri, timeStep, totpCode } from '../../api/src/auth/totp.js';
import { looksLikeRecoveryCode, newRecoveryCode, normalizeRecoveryCode } from '../../api/src/auth/recovery-codes.js';

// RFC 6238, Appendix B: 8-digit codes for the three HMACs at six moments.
const SEEDS = {
  sha1: Buffer.from('12345678901234567890'),
  sha256: Buffer.from('12345678901234567890123456789012'),
  sha512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234'),
};
const VECTORS: [number, string, string, string][] = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

describe('TOTP (RFC 6238)', () => {
  it.each(VECTORS)('at %i s gives the RFC test vectors', (seconds, sha1, sha256, sha512) => {
    const step = timeStep(new Date(seconds * 1000));
    expect(totpCode(SEEDS.sha1, step, 8, 'sha1')).toBe(sha1);
    expect(totpCode(SEEDS.sha256, step, 8, 'sha256')).toBe(sha256);
    expect(totpCode(SEEDS.sha512, step, 8, 'sha512')).toBe(sha512);
  });

  it('accepts the code of the step before, now and after, and nothing further', () => {
    const secret = base32Encode(SEEDS.sha1);
    const at = new Date(1111111111 * 1000);
    const now = timeStep(at);
    const code = (step: number) => totpCode(SEEDS.sha1, step);
    expect(matchingStep(secret, code(now), at)).toBe(now);
    expect(matchingStep(secret, code(now - 1), at)).toBe(now - 1);
    expect(matchingStep(secret, code(now + 1), at)).toBe(now + 1);
    expect(matchingStep(secret, code(now - 2), at)).toBeNull();
    expect(matchingStep(secret, code(now + 2), at)).toBeNull();
    expect(matchingStep(secret, '12345', at)).toBeNull();
  });

  it('encodes secrets in base32 that apps read back', () => {
    const secret = newTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(base32Encode(base32Decode(secret))).toBe(secret);
    expect(base32Encode(Buffer.from('12345678901234567890'))).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    expect(otpauthUri('GEZDGNBV', 'ada@example.com', 'Parley')).toBe(
      'otpauth://totp/Parley:ada%40example.com?secret=GEZDGNBV&issuer=Parley&algorithm=SHA1&digits=6&period=30',
    );
  });

  it('makes recovery codes that read back however they are typed', () => {
    const code = newRecoveryCode();
    expect(code).toMatch(/^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$/);
    expect(normalizeRecoveryCode(code.toLowerCase().replace(/-/g, ' '))).toBe(code);
    expect(looksLikeRecoveryCode(code)).toBe(true);
    expect(looksLikeRecoveryCode('123456')).toBe(false);
  });
});
