// The event writer as seen from the HTTP thread when SQLite runs on the writer thread (writer-thread.ts): write()
// hands the request over and resolves with the thread's answer, which comes only after the flush committed and
// reached the disk. Requests of one event-loop turn travel in one message; answers come back per flush.
// If the thread dies, the requests it held fail (answered 503, so clients retry; ids make retries safe) and the
// next write starts a new thread.
import { Worker } from 'node:worker_threads';
import type { Deps } from '../context.js';
import type { EventWriter, WriteResult } from './store.js';
import type { ThreadMessage, ThreadRequest, WriterThreadData } from './thread-protocol.js';

// The thread may run TypeScript sources (npm start, tests): tsx compiles them on the way in.
const BOOT = `
const { workerData } = require('node:worker_threads');
import('tsx/esm/api')
  .then(({ register }) => { register(); return import(workerData.entry); })
  .catch((err) => { console.error('writer thread failed to start:', err); process.exit(1); });
`;
const ENTRY = new URL('./writer-thread' + (import.meta.url.endsWith('.ts') ? '.ts' : '.js'), import.meta.url).href;

interface Waiting {
  resolve: (r: WriteResult | undefined) => void;
  reject: (e: Error) => void;
  events: number;
}

export function createThreadWriter(deps: Deps, databasePath: string): EventWriter {
  const waiting = new Map<number, Waiting>();
  let worker: Worker | null = null;
  let outbox: ThreadRequest[] = [];
  let scheduled = false;
  let nextId = 1;
  let pending = 0;
  let closed = false;

  const toError = (e: { message: string; code?: string; logged?: boolean }) =>
    Object.assign(new Error(e.message), e.code ? { code: e.code } : {}, e.logged ? { logged: true } : {});

  function settle(id: number, outcome: { result?: WriteResult; error?: Error }) {
    const w = waiting.get(id);
    if (!w) return;
    waiting.delete(id);
    pending -= w.events;
    if (outcome.error) w.reject(outcome.error);
    else w.resolve(outcome.result);
  }

  function start(): Worker {
    const data: WriterThreadData = { databasePath, config: deps.config };
    const w = new Worker(BOOT, { eval: true, workerData: { entry: ENTRY, ...data } });
    w.on('message', (m: ThreadMessage) => {
      for (const c of m.metrics ?? []) {
        if (c.kind === 'inc') deps.metrics.inc(c.name, c.labels, c.by);
        else deps.metrics.observe(c.name, c.value);
      }
      for (const r of m.replies ?? []) settle(r.id, { result: r.result, error: r.error && toError(r.error) });
    });
    w.on('error', (err) => deps.log.error('writer thread failed', { error: err.message }));
    w.on('exit', (code) => {
      if (worker !== w) return;
      worker = null;
      if (closed && waiting.size === 0) return;
      deps.log.error('writer thread exited; its requests are answered 503', { code, requests: waiting.size });
      const lost = Object.assign(new Error('writer thread exited'), { code: 'WRITER_EXITED', logged: true });
      for (const id of [...waiting.keys()]) settle(id, { error: lost });
    });
    return w;
  }

  function post() {
    scheduled = false;
    const batch = outbox;
    outbox = [];
    if (batch.length) (worker ??= start()).postMessage(batch);
  }

  function send<T>(make: (id: number) => ThreadRequest, events: number): Promise<T> {
    const id = nextId++;
    pending += events;
    const done = new Promise<T>((resolve, reject) => waiting.set(id, { resolve: resolve as (r: unknown) => void, reject, events }));
    outbox.push(make(id));
    if (!scheduled) {
      scheduled = true;
      setImmediate(post);
    }
    return done;
  }

  return {
    name: 'event-writer-thread',
    write(req) {
      if (closed) return Promise.reject(new Error('writer closed'));
      if (req.events.length === 0) return Promise.resolve({ stored: 0, duplicates: 0 });
      return send<WriteResult>((id) => ({ type: 'write', id, req }), req.events.length);
    },
    pendingEvents: () => pending,
    async flush() {
      if (!worker && outbox.length === 0) return;
      await send<void>((id) => ({ type: 'flush', id }), 0);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (!worker && outbox.length === 0) return;
      await send<void>((id) => ({ type: 'close', id }), 0).catch((err) => deps.log.error('writer thread did not close cleanly', { error: err.message }));
      await worker?.terminate();
    },
  };
}
