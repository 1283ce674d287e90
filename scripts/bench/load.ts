// A bounded load generator (autocannon) and the child processes the benchmarks measure.
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';

export const root = fileURLToPath(new URL('../..', import.meta.url));

export interface LoadResult {
  requestsPerSec: number;
  eventsPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  requests: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  /** builds the body of each request (unique ids per request) */
  body: () => string;
  eventsPerRequest: number;
  headers?: Record<string, string>;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: o.url,
    connections: o.connections,
    duration: o.seconds,
    pipelining: 1,
    headers: { 'content-type': 'text/plain', origin: 'http://127.0.0.1', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36', ...o.headers },
    requests: [{ method: 'POST', setupRequest: (req: Record<string, unknown>) => ({ ...req, body: o.body() }) }],
  } as autocannon.Options);
  const ok = result.requests.total - result.non2xx;
  return {
    requestsPerSec: result.requests.average,
    eventsPerSec: (ok / o.seconds) * o.eventsPerRequest,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    requests: result.requests.total,
  };
}

/** Starts a child process and resolves with the URL it prints as `{"listening":"…"}`. */
export function startChild(args: string[], env: Record<string, string>): Promise<{ url: string; child: ChildProcess; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /\{"listening":"([^"]+)"/.exec(out);
      if (m) {
        resolve({
          url: m[1],
          child,
          stop: () =>
            new Promise<void>((r) => {
              child.once('exit', () => r());
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`child exited with ${code} before listening: ${out}`)));
  });
}

/** CPU time (user + system, ms) a process has used so far, read from /proc; null where there is none (not Linux). */
export function cpuMs(pid: number | undefined): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}
// USER_HZ: 100 on every Linux build node runs on
const CLOCK_TICKS = 100;

/** Runs a load and adds the CPU the measured process used per answered request (µs). */
export async function runLoadWithCpu(pid: number | undefined, o: LoadOptions): Promise<LoadResult & { cpuPerRequest: number | null; loadCpuPerRequest: number }> {
  const before = cpuMs(pid);
  const own = process.cpuUsage();
  const r = await runLoad(o);
  const after = cpuMs(pid);
  const used = process.cpuUsage(own);
  return {
    ...r,
    cpuPerRequest: before === null || after === null || r.requests === 0 ? null : ((after - before) * 1000) / r.requests,
    // the load generator shares the machine's two cores with the server it measures
    loadCpuPerRequest: (used.user + used.system) / Math.max(1, r.requests),
  };
}

export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
