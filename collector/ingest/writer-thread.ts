// The group-commit writer on its own thread (entry of the worker started by thread-writer.ts). It opens its own
// connection to the SQLite file and runs the whole flush there: insert, visitor upsert, attribution, segments and
// webhook queueing, so the HTTP thread never waits on SQLite or the disk. Like a second collector on the same
// database, it reads every rule fresh per flush; its caches only make guesses.
import { parentPort, workerData } from 'node:worker_threads';
import { openSqlite } from '../storage/sqlite-db.js';
import { createLog, wasLogged } from '../ops/log.js';
import type { Deps } from '../context.js';
import type { Metrics } from '../ops/metrics.js';
import { createEventWriter } from './store.js';
import type { MetricCall, ThreadReply, ThreadRequest, WriterThreadData } from './thread-protocol.js';

const data = workerData as WriterThreadData;
const port = parentPort!;
const db = openSqlite(data.databasePath);

// metrics are recorded here and replayed into the main thread's registry with the next reply
let calls: MetricCall[] = [];
const metrics: Metrics = {
  inc: (name, labels, by) => void calls.push({ kind: 'inc', name, labels, by }),
  observe: (name, value) => void calls.push({ kind: 'observe', name, value }),
  gauge: () => {},
  render: async () => '',
  value: () => 0,
};
const deps = { db, config: data.config, log: createLog(data.config.LOG_LEVEL), metrics, now: Date.now } as Omit<Deps, 'writer'> as Deps;
const writer = createEventWriter(deps);
deps.writer = writer;

let replies: ThreadReply[] = [];
function reply(r: ThreadReply) {
  replies.push(r);
  if (replies.length === 1) queueMicrotask(sendReplies);
}
function sendReplies() {
  port.postMessage({ replies, metrics: calls });
  replies = [];
  calls = [];
}

const errorOf = (err: unknown) => ({ message: (err as Error)?.message ?? String(err), code: (err as { code?: string })?.code, logged: wasLogged(err) });

port.on('message', (batch: ThreadRequest[]) => {
  for (const m of batch) {
    if (m.type === 'write') {
      writer.write(m.req).then(
        (result) => reply({ id: m.id, result }),
        (err) => reply({ id: m.id, error: errorOf(err) }),
      );
    } else if (m.type === 'flush') {
      writer.flush().then(() => reply({ id: m.id }), (err) => reply({ id: m.id, error: errorOf(err) }));
    } else if (m.type === 'close') {
      writer
        .close()
        .then(() => db.close())
        .then(() => reply({ id: m.id }), (err) => reply({ id: m.id, error: errorOf(err) }));
    }
  }
});
