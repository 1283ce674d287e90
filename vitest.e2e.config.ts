import { defineConfig } from 'vitest/config';
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 60000,
    hookTimeout: 120000,
    // two files at a time: a Chromium test mostly waits (batching, timers, polls), so two share two cores without
    // slowing each other much; every file has its own browser profile, collector, database and ports
    fileParallelism: true,
    maxWorkers: 2,
    // (not vmForks as npm test: measured the same here, 623 s against 628 s, with each worker's memory growing file
    // after file)
    globalSetup: ['test/run-tmpdir.ts'],
  },
});
