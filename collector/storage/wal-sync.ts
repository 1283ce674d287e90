// Durable commits without blocking the event loop. SQLite runs with synchronous = NORMAL in WAL mode, so COMMIT
// only writes the WAL (a commit then survives a crash of the process, not yet a power cut). Before a write is
// acknowledged the WAL file is fdatasync'ed on libuv's thread pool: afterwards the commit survives a power cut too,
// as with synchronous = FULL, but the thread keeps serving requests while the disk works.
// Concurrent callers share syncs: one runs at a time, and everyone who arrives meanwhile waits for the next one
// (which starts after their commit, so it covers it).
import { close, fdatasync, open } from 'node:fs';

export type WalSync = () => Promise<void>;

function syncFile(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    open(path, 'r', (err, fd) => {
      // no WAL file (nothing written yet, or the last connection removed it after a full checkpoint): nothing to sync
      if (err) return (err as NodeJS.ErrnoException).code === 'ENOENT' ? resolve() : reject(err);
      fdatasync(fd, (syncErr) => close(fd, () => (syncErr ? reject(syncErr) : resolve())));
    });
  });
}

export function createWalSync(databasePath: string, syncPath: (path: string) => Promise<void> = syncFile): WalSync {
  const walPath = databasePath + '-wal';
  let running: Promise<void> | null = null;
  let next: Promise<void> | null = null;
  const start = () => (running = syncPath(walPath).finally(() => (running = null)));
  return function syncWal() {
    if (!running) return start();
    // a sync is under way and may have begun before the caller's commit: wait for a fresh one
    next ??= running.catch(() => {}).then(() => {
      next = null;
      return running ?? start();
    });
    return next;
  };
}
