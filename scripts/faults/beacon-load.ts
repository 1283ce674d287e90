// Load for the fault runs: concurrent senders of unique event ids that remember what was acknowledged (202) and
// retry everything else with the same ids, like the snippet does, so loss and duplication can be checked afterwards.
import { snippetId } from '../bench/snippet-id.js';

// visitor and event ids in the snippet's format
const id = snippetId;

export interface BeaconLoadOptions {
  /** the collector's current base URL (it changes when a killed collector is restarted) */
  url: () => string;
  siteKey: string;
  concurrency: number;
  eventsPerBatch: number;
  /** longest wait on Retry-After, ms: the fault runs are short */
  maxBackoffMs?: number;
  origin?: string;
}

export interface BeaconLoadState {
  acked: Set<string>;
  /** every event id ever sent */
  sent: Set<string>;
  statuses: Map<string, number>;
  /** 503/429 answers that carried Retry-After */
  withRetryAfter: number;
  /** latency of each answered request, ms, with its end time */
  samples: Array<{ at: number; ms: number; status: number }>;
  /** batches dropped after too many attempts (never acknowledged) */
  givenUp: number;
}

export interface BeaconLoad {
  state: BeaconLoadState;
  /** stop sending new batches; in-flight batches still finish their retries for up to `drainMs` */
  stop(drainMs?: number): Promise<void>;
}

export function startBeaconLoad(o: BeaconLoadOptions): BeaconLoad {
  const state: BeaconLoadState = { acked: new Set(), sent: new Set(), statuses: new Map(), withRetryAfter: 0, samples: [], givenUp: 0 };
  const count = (k: string) => state.statuses.set(k, (state.statuses.get(k) ?? 0) + 1);
  let stopping = false;
  let drainUntil = Infinity;
  const maxBackoff = o.maxBackoffMs ?? 500;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function sendUntilDone(body: string, ids: string[]) {
    for (let attempt = 0; attempt < 400 && Date.now() < drainUntil; attempt++) {
      const started = performance.now();
      try {
        const res = await fetch(o.url() + '/e', {
          method: 'POST',
          body,
          headers: { 'content-type': 'text/plain', origin: o.origin ?? 'http://127.0.0.1', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36' },
          signal: AbortSignal.timeout(15_000),
        });
        await res.arrayBuffer();
        state.samples.push({ at: Date.now(), ms: performance.now() - started, status: res.status });
        count(String(res.status));
        if (res.status === 202) {
          for (const i of ids) state.acked.add(i);
          return;
        }
        const retryAfter = res.headers.get('retry-after');
        if (retryAfter) state.withRetryAfter++;
        if (res.status >= 400 && res.status < 500 && res.status !== 429 && res.status !== 408) return; // refused for good
        await sleep(Math.min(maxBackoff, retryAfter ? Number(retryAfter) * 1000 : 100));
      } catch {
        count('network');
        await sleep(50);
      }
    }
    state.givenUp++;
  }

  const senders = Array.from({ length: o.concurrency }, async () => {
    while (!stopping) {
      const t = Date.now();
      const e = Array.from({ length: o.eventsPerBatch }, () => ({ i: id(), n: 'pageview', t, u: 'http://127.0.0.1/pricing', r: 'https://www.google.com/' }));
      for (const ev of e) state.sent.add(ev.i);
      await sendUntilDone(JSON.stringify({ s: o.siteKey, v: id(), e }), e.map((ev) => ev.i));
    }
  });

  return {
    state,
    async stop(drainMs = 20_000) {
      stopping = true;
      drainUntil = Date.now() + drainMs;
      await Promise.all(senders);
    },
  };
}

/** Latency percentile of the samples taken in [from, to). */
export function percentile(samples: BeaconLoadState['samples'], q: number, from = 0, to = Infinity): number {
  const ms = samples.filter((s) => s.at >= from && s.at < to).map((s) => s.ms).sort((a, b) => a - b);
  return ms.length ? ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] : NaN;
}
