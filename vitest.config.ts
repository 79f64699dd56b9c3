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
  },
});
