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
    // each file in a fresh VM context of a reused process, not a fresh process: the dependencies' import is paid once
    // per worker (npm test 392 s → 304 s on two cores). A dependency that starts with a shebang cannot load this way:
    // test pure code from a module of its own (scripts/bench/soak-verdict.ts, not soak.ts and its autocannon)
    pool: 'vmForks',
    globalSetup: ['test/run-tmpdir.ts'],
  },
});
