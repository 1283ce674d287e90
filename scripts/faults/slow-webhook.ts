// Fault (c): webhook receivers that take 10 s per request must not slow ingest. Three fresh collectors take the same
// load: without webhooks, with webhooks to a receiver that answers at once, and to one that sleeps 10 s per request.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startCollector } from './collector-child.js';
import { runLoad, fmt, type LoadResult } from '../bench/load.js';
import { beaconBody } from '../bench/ingest.js';
import { WEBHOOK_EVENTS } from '../../collector/webhooks/enqueue.js';
import { check, type FaultReport } from './fault-report.js';
import { FAULT_ENV, setupSite } from './setup-site.js';

interface Receiver {
  url: string;
  received: () => number;
  close: () => Promise<void>;
}

function startReceiver(delayMs: number): Promise<Receiver> {
  let received = 0;
  const held = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    received++;
    req.resume();
    const t = setTimeout(() => {
      held.delete(t);
      res.writeHead(200).end('ok');
    }, delayMs);
    held.add(t);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
        received: () => received,
        close: () =>
          new Promise<void>((r) => {
            for (const t of held) clearTimeout(t);
            server.closeAllConnections();
            server.close(() => r());
          }),
      }),
    ),
  );
}

interface Phase {
  name: string;
  load: LoadResult;
  deliveries: number;
  received: number;
}

async function runPhase(name: string, receiverDelay: number | null, o: { seconds: number; connections: number }): Promise<Phase> {
  const dir = mkdtempSync(join(tmpdir(), 'fb-fault-hook-'));
  const path = join(dir, 'hook.db');
  const { siteKey, secret } = await setupSite(path);
  const receiver = receiverDelay === null ? null : await startReceiver(receiverDelay);
  const collector = await startCollector({ ...FAULT_ENV, DATABASE_PATH: path });
  try {
    if (receiver) {
      for (const id of ['crm', 'ads']) {
        const res = await fetch(`${collector.url}/api/webhooks/${id}`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body: JSON.stringify({ url: receiver.url, events: WEBHOOK_EVENTS }),
        });
        if (res.status >= 300) throw new Error(`webhook not created: ${res.status} ${await res.text()}`);
      }
    }
    const body = beaconBody(siteKey, 1);
    await runLoad({ url: collector.url + '/e', connections: o.connections, seconds: 1, body, eventsPerRequest: 1 });
    const load = await runLoad({ url: collector.url + '/e', connections: o.connections, seconds: o.seconds, body, eventsPerRequest: 1 });
    const db = new Database(path, { readonly: true });
    const deliveries = Number((db.prepare('SELECT COUNT(*) AS n FROM webhook_deliveries').get() as { n: number }).n);
    db.close();
    return { name, load, deliveries, received: receiver?.received() ?? 0 };
  } finally {
    await collector.stop();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runSlowWebhook(o: { seconds: number; connections: number }): Promise<FaultReport> {
  const none = await runPhase('no webhooks', null, o);
  const fast = await runPhase('webhooks, receiver answers at once', 0, o);
  const slow = await runPhase('webhooks, receiver sleeps 10 s per request', 10_000, o);
  const figures: Record<string, string> = {};
  for (const p of [none, fast, slow]) {
    figures[p.name] =
      `${fmt(p.load.requestsPerSec)} req/s  p50 ${fmt(p.load.p50, 1)} ms  p99 ${fmt(p.load.p99, 1)} ms  errors ${p.load.errors + p.load.non2xx}  ` +
      `deliveries queued ${p.deliveries}, received ${p.received}`;
  }
  const ratio = slow.load.requestsPerSec / none.load.requestsPerSec;
  figures['throughput slow receiver / no webhooks'] = ratio.toFixed(2);
  figures['throughput slow / fast receiver'] = (slow.load.requestsPerSec / fast.load.requestsPerSec).toFixed(2);
  return {
    fault: '(c) slow webhook receivers',
    mechanism: `two webhooks on every event type pointing at a loopback receiver that holds each request 10 s (the worker's own timeout); same autocannon load (${o.connections} connections, ${o.seconds} s, 1 event/request, a new visitor per request) on a fresh collector per phase. The fast-receiver phase shows what delivering costs in CPU on this machine; the slow phase must stay close to no webhooks at all`,
    figures,
    checks: [
      check('the slow phase really queued and sent deliveries', slow.deliveries > 0 && slow.received > 0, `${slow.deliveries} queued, ${slow.received} received`),
      check('no ingest errors with a slow receiver', slow.load.errors + slow.load.non2xx === 0, `${slow.load.errors + slow.load.non2xx} errors`),
      // the machine is shared: a 25 % band separates "unaffected" from noise
      check('ingest throughput with a slow receiver within 25 % of no webhooks', ratio >= 0.75, `ratio ${ratio.toFixed(2)}`),
      // both phases queue the same deliveries: this isolates what the receiver's slowness itself costs
      check('ingest throughput with a slow receiver at least 0.9 of a receiver that answers at once', slow.load.requestsPerSec >= 0.9 * fast.load.requestsPerSec, `ratio ${(slow.load.requestsPerSec / fast.load.requestsPerSec).toFixed(2)}`),
      // p99 of a few hundred requests on a shared 2-core machine is a handful of samples: the median is the robust one
      check('ingest p50 with a slow receiver within 1.5× (+10 ms) of no webhooks', slow.load.p50 <= none.load.p50 * 1.5 + 10, `${fmt(slow.load.p50, 1)} vs ${fmt(none.load.p50, 1)} ms`),
    ],
  };
}
