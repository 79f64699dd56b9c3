import { describe, expect, it } from 'vitest';
import { renewAfter } from '../../worker/src/provisioning/certificate-timing.js';

const DAY = 24 * 3600 * 1000;

describe('renewAfter', () => {
  it('is two thirds into a 90-day certificate: day 60', () => {
    const notBefore = new Date('2026-01-01T00:00:00Z');
    const notAfter = new Date(notBefore.getTime() + 90 * DAY);
    expect(renewAfter(notBefore, notAfter)).toEqual(new Date(notBefore.getTime() + 60 * DAY));
  });

  it('follows the lifetime instead of a fixed margin: day 4 of a 6-day certificate', () => {
    const notBefore = new Date('2026-03-10T12:00:00Z');
    const notAfter = new Date(notBefore.getTime() + 6 * DAY);
    expect(renewAfter(notBefore, notAfter)).toEqual(new Date(notBefore.getTime() + 4 * DAY));
  });

  it('handles lifetimes that do not divide by three, and stays inside the lifetime', () => {
    const notBefore = new Date('2026-01-01T00:00:00.000Z');
    const notAfter = new Date('2026-01-01T00:00:00.010Z');
    const at = renewAfter(notBefore, notAfter);
    expect(at.getTime()).toBe(notBefore.getTime() + 6);
    expect(at.getTime()).toBeLessThan(notAfter.getTime());
  });

  it('refuses an empty or reversed lifetime and invalid dates', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(() => renewAfter(now, now)).toThrow(/lifetime is empty/);
    expect(() => renewAfter(new Date(now.getTime() + DAY), now)).toThrow(/lifetime is empty/);
    expect(() => renewAfter(new Date('not a date'), now)).toThrow(/valid dates/);
  });
});
