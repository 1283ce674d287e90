// `npm run faults`: the collector under load meets faults — SIGKILL and restart, a full or read-only disk, slow
// webhook receivers — and a report says whether anything acknowledged was lost. Loopback only, bounded in time.
import { parseArgs } from 'node:util';
import { cpus, loadavg } from 'node:os';
import { runKillRestart } from './faults/kill-restart.js';
import { runDiskFull } from './faults/disk-full.js';
import { runSlowWebhook } from './faults/slow-webhook.js';
import { printReport, type FaultReport } from './faults/fault-report.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    kills: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
  },
});
const only = values.only ? new Set(values.only.split(',')) : null;
const want = (name: string) => !only || only.has(name);
const connections = Number(values.connections);

console.log(`Funnelbeam faults — node ${process.version}, ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}, ${new Date().toISOString()}`);
const reports: FaultReport[] = [];
const run = async (name: string, fn: () => Promise<FaultReport>) => {
  if (!want(name)) return;
  const started = Date.now();
  const r = await fn();
  r.figures['run time, s'] = ((Date.now() - started) / 1000).toFixed(0);
  printReport(r);
  reports.push(r);
};
await run('kill', () => runKillRestart({ cycles: Number(values.kills), concurrency: connections }));
await run('disk', () => runDiskFull({ concurrency: Math.max(4, connections / 2), faultSeconds: 10 }));
await run('webhook', () => runSlowWebhook({ seconds: Number(values.seconds), connections }));

const failed = reports.flatMap((r) => (r.checks ?? []).filter((c) => !c.ok).map((c) => `${r.fault}: ${c.name}`));
const skipped = reports.filter((r) => r.skipped).map((r) => r.fault);
console.log(`\n${failed.length ? 'FAILED' : 'ALL PASSED'}: ${reports.length} faults run${skipped.length ? `, ${skipped.length} skipped (${skipped.join('; ')})` : ''}`);
for (const f of failed) console.log(`  ${f}`);
process.exit(failed.length ? 1 : 0);
