// WAL syncs are shared: one at a time, and a caller who arrives during a sync waits for the next one.
import { expect, test } from 'vitest';
import { createWalSync } from '../../collector/storage/wal-sync.js';

function controlledSync() {
  const calls: Array<() => void> = [];
  const syncPath = (path: string) => new Promise<void>((resolve) => calls.push(() => resolve(void expect(path).toBe('db.sqlite-wal'))));
  return { calls, syncWal: createWalSync('db.sqlite', syncPath) };
}

test('callers during a running sync share the next one, which starts only after it', async () => {
  const { calls, syncWal } = controlledSync();
  const order: string[] = [];
  const first = syncWal().then(() => order.push('first'));
  const second = syncWal().then(() => order.push('second'));
  const third = syncWal().then(() => order.push('third'));
  expect(calls.length).toBe(1);
  calls[0]();
  await first;
  await new Promise((r) => setImmediate(r));
  expect(order).toEqual(['first']); // the second and third committed after the first sync began: not yet covered
  expect(calls.length).toBe(2);
  calls[1]();
  await Promise.all([second, third]);
  expect(order).toEqual(['first', 'second', 'third']);
  expect(calls.length).toBe(2);
});

test('a failed sync fails its callers, and the next caller starts a fresh sync', async () => {
  let n = 0;
  const syncWal = createWalSync('db.sqlite', async () => {
    if (n++ === 0) throw Object.assign(new Error('EIO'), { code: 'EIO' });
  });
  await expect(syncWal()).rejects.toThrow('EIO');
  await expect(syncWal()).resolves.toBeUndefined();
  expect(n).toBe(2);
});

test('syncs a real file, and a missing WAL file is nothing to sync', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'fb-walsync-'));
  writeFileSync(join(dir, 'a.db-wal'), 'x');
  await expect(createWalSync(join(dir, 'a.db'))()).resolves.toBeUndefined();
  await expect(createWalSync(join(dir, 'missing.db'))()).resolves.toBeUndefined();
  await expect(createWalSync(join(dir, 'no-such-dir', 'x', 'b.db'))()).resolves.toBeUndefined();
});
