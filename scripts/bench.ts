// `npm run bench`: the benchmarks of BENCHMARKS.md, printing their figures. `--only a,b` picks sections.
import { parseArgs } from 'node:util';
import { benchIngest, printIngest } from './bench/ingest.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
  },
});
const only = values.only ? new Set(values.only.split(',')) : null;
const want = (name: string) => !only || only.has(name);
const seconds = Number(values.seconds);
const connections = Number(values.connections);

console.log(`Funnelbeam benchmarks — node ${process.version}, ${new Date().toISOString()}`);
if (want('ingest')) printIngest(await benchIngest({ seconds, connections }), connections);
