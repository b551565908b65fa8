import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration and e2e tests each use their own temp dirs, databases and key prefixes,
    // so files may run in parallel; two cores make more forks only slower.
    pool: 'forks',
    maxWorkers: 2,
  },
});
