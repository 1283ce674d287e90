// In-process counters and summaries, rendered as Prometheus text on GET /metrics.
export interface Metrics {
  inc(name: string, labels?: Record<string, string>, by?: number): void;
  observe(name: string, value: number): void;
  gauge(name: string, read: () => number | Promise<number>): void;
  render(): Promise<string>;
  /** current value of a counter (tests and the fault script read it) */
  value(name: string, labels?: Record<string, string>): number;
}

const HELP: Record<string, string> = {
  funnelbeam_events_accepted_total: 'Events committed to storage.',
  funnelbeam_events_duplicate_total: 'Events whose id was already stored (retries), stored once.',
  funnelbeam_events_rejected_total: 'Requests or events rejected, by reason.',
  funnelbeam_cors_refused_total: 'Beacons refused because their Origin is not the site domain.',
  funnelbeam_flush_batch_size: 'Events per group-commit flush.',
  funnelbeam_flush_seconds: 'Group-commit flush latency.',
  funnelbeam_database_bytes: 'Size of the database.',
  funnelbeam_writer_pending_events: 'Events received and waiting for their group commit.',
  funnelbeam_attribution_failures_total: 'Batches whose attribution failed (events kept, replayable).',
  funnelbeam_api_refused_total: 'API requests answered with a 4xx, by error code.',
  funnelbeam_event_parts_repaired_total: 'Parts of stored beacon events cut to their limit or dropped (see repaired in the answer).',
  funnelbeam_events_erased_total: 'Events of an erased lead sent again (an outbox resent, a backfill), dated before its erasure: accepted, never stored.',
  funnelbeam_rate_limited_total: 'Requests answered 429 by a rate limit, by limit scope and route.',
  funnelbeam_flush_failures_total: 'Group-commit flushes that failed, by error code.',
  funnelbeam_attribution_retries_total: 'Attribution runs retried after a conflict or deadlock, by error code.',
  funnelbeam_attribution_seconds: 'Attribution (stages, scores, identities) time per flush.',
  funnelbeam_segment_update_seconds: 'Segment membership upkeep time per flush.',
  funnelbeam_segment_changes_total: 'Leads entering or leaving a segment, by kind.',
  funnelbeam_webhook_attempts_total: 'Webhook delivery attempts, by result.',
  funnelbeam_rejected_not_stored_total: 'Rejected requests or events only counted, not kept in the rejected store (over its per-site rate), by reason.',
  funnelbeam_rejected_pruned_total: 'Rows pruned from the rejected store over REJECTED_MAX_ROWS.',
  funnelbeam_retention_purged_visitors_total: 'Anonymous visitors purged by retention (unseen for RETENTION_DAYS).',
  funnelbeam_retention_purged_events_total: 'Events purged by retention with their visitors.',
};

/** The series README documents, listed from the start (counters at 0) so that dashboards and alerts see them before
 * the first event, as Prometheus asks of client libraries. Labelled families get their HELP and TYPE lines. */
const COUNTERS_AT_ZERO = [
  'funnelbeam_events_accepted_total', 'funnelbeam_events_duplicate_total', 'funnelbeam_cors_refused_total', 'funnelbeam_attribution_failures_total',
  'funnelbeam_event_parts_repaired_total', 'funnelbeam_events_erased_total',
];
const LABELLED_COUNTERS = ['funnelbeam_events_rejected_total', 'funnelbeam_api_refused_total'];
const SUMMARIES = ['funnelbeam_flush_batch_size', 'funnelbeam_flush_seconds'];

const key = (name: string, labels?: Record<string, string>) =>
  labels && Object.keys(labels).length
    ? `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${String(v).replace(/["\\\n]/g, '_')}"`).join(',')}}`
    : name;

export function createMetrics(): Metrics {
  const counters = new Map<string, number>(COUNTERS_AT_ZERO.map((n) => [n, 0]));
  const counterNames = new Set<string>([...COUNTERS_AT_ZERO, ...LABELLED_COUNTERS]);
  const summaries = new Map<string, { count: number; sum: number; recent: number[] }>(SUMMARIES.map((n) => [n, { count: 0, sum: 0, recent: [] }]));
  const gauges = new Map<string, () => number | Promise<number>>();
  return {
    inc(name, labels, by = 1) {
      counterNames.add(name);
      const k = key(name, labels);
      counters.set(k, (counters.get(k) ?? 0) + by);
    },
    observe(name, value) {
      let s = summaries.get(name);
      if (!s) summaries.set(name, (s = { count: 0, sum: 0, recent: [] }));
      s.count++;
      s.sum += value;
      s.recent.push(value);
      if (s.recent.length > 1024) s.recent.splice(0, 512);
    },
    gauge(name, read) {
      gauges.set(name, read);
    },
    value(name, labels) {
      return counters.get(key(name, labels)) ?? 0;
    },
    async render() {
      const lines: string[] = [];
      const help = (n: string, type: string) => {
        if (HELP[n]) lines.push(`# HELP ${n} ${HELP[n]}`);
        lines.push(`# TYPE ${n} ${type}`);
      };
      for (const n of [...counterNames].sort()) {
        help(n, 'counter');
        for (const [k, v] of counters) if (k === n || k.startsWith(n + '{')) lines.push(`${k} ${v}`);
      }
      for (const [n, s] of summaries) {
        help(n, 'summary');
        const sorted = [...s.recent].sort((a, b) => a - b);
        for (const q of [0.5, 0.99]) {
          const v = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;
          lines.push(`${n}{quantile="${q}"} ${v}`);
        }
        lines.push(`${n}_sum ${s.sum}`, `${n}_count ${s.count}`);
      }
      for (const [n, read] of gauges) {
        help(n, 'gauge');
        // a gauge that cannot be read (the database down: its size) is left out, not the whole scrape: the counters
        // of what is failing are wanted most then
        const value = await Promise.resolve()
          .then(read)
          .catch(() => undefined);
        if (value !== undefined) lines.push(`${n} ${value}`);
      }
      return lines.join('\n') + '\n';
    },
  };
}
