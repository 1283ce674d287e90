// WAL checkpoints on a worker thread with its own connection, so no request ever waits for one.
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import type { Service } from '../app.js';

const workerCode = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (err) { parentPort.postMessage({ error: String(err && err.message) }); }
}, workerData.everyMs);
parentPort.on('message', (m) => {
  if (m === 'stop') { clearInterval(timer); try { db.pragma('wal_checkpoint(PASSIVE)'); db.close(); } catch {} parentPort.postMessage('stopped'); }
});
`;

export function startCheckpointer(path: string, everyMs = 1000, onError: (msg: string) => void = () => {}): Service {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(workerCode, { eval: true, workerData: { path, everyMs, driver } });
  worker.unref();
  worker.on('message', (m) => {
    if (m && typeof m === 'object' && 'error' in m) onError(String(m.error));
  });
  return {
    name: 'wal-checkpointer',
    close: () =>
      new Promise<void>((resolve) => {
        const done = () => resolve();
        worker.once('message', () => void worker.terminate().then(done, done));
        worker.once('exit', done);
        worker.postMessage('stop');
        setTimeout(() => void worker.terminate().then(done, done), 2000).unref();
      }),
  };
}
