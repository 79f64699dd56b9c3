import { describe, expect, it } from 'vitest';
import { ago } from '../../web/src/ui/format.js';

describe('how long ago Parley last looked', () => {
  const now = new Date('2025-01-01T12:00:00.000Z').getTime();
  const at = (msBefore: number) => new Date(now - msBefore).toISOString();

  it('says "just now" for a moment ago, and for one the page\'s slower clock has not reached yet', () => {
    expect(ago(at(1_000), now)).toBe('just now');
    expect(ago(at(-3_000), now)).toBe('just now');
  });

  it('counts seconds, minutes and hours after that', () => {
    expect(ago(at(12_000), now)).toMatch(/^12 seconds ago$/);
    expect(ago(at(180_000), now)).toMatch(/^3 minutes ago$/);
    expect(ago(at(7_200_000), now)).toMatch(/^2 hours ago$/);
  });
});
