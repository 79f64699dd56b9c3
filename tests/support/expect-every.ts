import { expect } from 'vitest';

/**
 * That every item passes `check`, over a list that is not empty: a check over no items proves
 * nothing, so it fails. A failure lists the items that did not pass.
 */
export function expectEvery<T>(items: readonly T[], check: (item: T) => boolean, what = 'items'): void {
  expect(items.length, `${what}: the list is empty, so nothing was checked`).toBeGreaterThan(0);
  expect(items.filter((item) => !check(item)), `${what} that do not pass`).toEqual([]);
}
