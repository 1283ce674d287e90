import { defineConfig } from 'vitest/config';
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    testTimeout: 30000,
    hookTimeout: 60000,
    // vitest's default is one worker fewer than the cores: one on CI's two. The files are independent (each makes its
    // own database files, PostgreSQL schemas and ports), so two run at once: `npm test` 562 s → 392 s there
    maxWorkers: 2,
  },
});
