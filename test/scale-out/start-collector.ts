// Starts collector/server.ts as a child process on a given DATABASE_URL and waits for its {"listening":…} line.
// Like test/helpers/child-server.ts, with a start timeout that fits several collectors booting at once on a busy machine.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface Collector {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** SIGTERM, then resolves with the exit code once the last flush is done */
  stop(): Promise<number | string | null>;
}

export function startCollector(env: Record<string, string>, startTimeoutMs = 90_000): Promise<Collector> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'collector/server.ts'], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', DEMO: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | string | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('collector did not start:\n' + out));
    }, startTimeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /\{"listening":"([^"]+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], child, output: () => out, stop });
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', () => {
      clearTimeout(timer);
      reject(new Error('collector exited before listening:\n' + out));
    });
  });
}
