/**
 * When to renew a certificate: after two thirds of its lifetime, whatever that lifetime is
 * (90 days today, shorter ones announced), never a fixed number of days before expiry.
 * ARI (RFC 9773) is left out for now: acme-client 5 does not implement it.
 */
export function renewAfter(notBefore: Date, notAfter: Date): Date {
  const start = notBefore.getTime();
  const end = notAfter.getTime();
  if (!Number.isFinite(start) || !Number.isFinite(end)) throw new RangeError('renewAfter needs two valid dates');
  if (end <= start) throw new RangeError(`certificate lifetime is empty: notAfter ${notAfter.toISOString()} is not after notBefore ${notBefore.toISOString()}`);
  return new Date(start + Math.floor(((end - start) * 2) / 3));
}
