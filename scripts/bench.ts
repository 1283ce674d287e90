// `npm run bench`: the benchmarks of BENCHMARKS.md, printing their figures. `--only a,b` picks sections.
import { parseArgs } from 'node:util';
import { benchIngest, printIngest } from './bench/ingest.js';
import { benchSoak, printSoak } from './bench/soak.js';
import { parseDuration } from './bench/soak-verdict.js';
import { benchPg, printPg } from './bench-pg.js';
import { benchSegments, printSegments } from './bench-segments.js';
import { benchReads } from './bench-reads.js';
import { benchExports, printExports } from './bench-exports.js';

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
} else {
  // Sections in the order of BENCHMARKS.md; reads and exports build 1M-row databases (minutes, cached under .tmp/).
  if (want('ingest')) printIngest(await benchIngest({ seconds, connections }), connections);
  if (want('attribution')) {
    const attribution = await import('./bench-attribution.js');
    if ('benchAttribution' in attribution && 'printAttribution' in attribution) {
      (attribution.printAttribution as (f: unknown) => void)(await (attribution.benchAttribution as (o: object) => Promise<unknown>)({ seconds, connections }));
    }
  }
  if (want('pg')) printPg(await benchPg({ seconds, connections }), connections);
  if (want('segments')) printSegments(await benchSegments());
  if (want('reads')) await benchReads({ log: (l) => process.stderr.write(l + '\n') });
  if (want('exports')) printExports(await benchExports());
}
