// vitest globalSetup: one temporary folder per test run, removed when the run ends. Test databases, browser profiles,
// fresh checkouts and the collectors the tests start all write under os.tmpdir(); pointing TMPDIR at this folder
// (the workers and every child process inherit it) keeps a run from leaving hundreds of folders in /tmp each time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'funnelbeam-run-'));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
}
