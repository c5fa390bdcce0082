import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // PostgreSQL suites share one database; files run one after another to keep them independent.
    fileParallelism: false,
    reporters: ['default', './test/summary-reporter.ts'],
  },
})
