import { defineConfig } from 'vitest/config';

// Integration tests share one Postgres, Redis, Docker engine, PowerDNS and Pebble:
// files run one after another so they never race for the same zone or port pool.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    reporters: ['default'],
    // Each file's tests run in a shuffled order, the same on every run (a fixed seed, so a failure
    // reproduces): a test that leans on another's leftovers fails here rather than on the day the
    // file is reordered. Suites that are one story told in order say so with `{ shuffle: false }`.
    sequence: { shuffle: { files: false, tests: true }, seed: 4242 },
  },
});
