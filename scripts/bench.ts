// `npm run bench`: the benchmarks of BENCHMARKS.md, printing their figures. `--only a,b` picks sections.
import { parseArgs } from 'node:util';
import { benchIngest, printIngest } from './bench/ingest.js';
import { benchSoak, parseDuration, printSoak } from './bench/soak.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    /** `--soak 10m`: only the soak, for that long */
    soak: { type: 'string' },
  },
});
const only = values.only ? new Set(values.only.split(',')) : null;
const want = (name: string) => !only || only.has(name);
const seconds = Number(values.seconds);
const connections = Number(values.connections);

console.log(`Funnelbeam benchmarks — node ${process.version}, ${new Date().toISOString()}`);
if (values.soak) {
  const verdict = printSoak(await benchSoak({ seconds: parseDuration(values.soak), connections }));
  process.exitCode = verdict.noErrors && verdict.rssFlat && verdict.p99Stable ? 0 : 1;
} else if (want('ingest')) printIngest(await benchIngest({ seconds, connections }), connections);
