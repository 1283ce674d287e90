// A collector child process for the fault runs: started like `npm start`, killed or stopped, its log kept in memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface CollectorChild {
  url: string;
  child: ChildProcess;
  /** stderr and stdout lines so far */
  log: () => string[];
  /** resolves with the exit code or signal once the process is gone */
  exited: Promise<number | string | null>;
  alive: () => boolean;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

export function startCollector(env: Record<string, string>, options: { uid?: number; gid?: number } = {}): Promise<CollectorChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'collector/server.ts'], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', DEMO: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
  const lines: string[] = [];
  let out = '';
  let gone = false;
  const exited = new Promise<number | string | null>((resolve) =>
    child.on('exit', (code, signal) => {
      gone = true;
      resolve(signal ?? code);
    }),
  );
  const keep = (d: Buffer) => {
    const s = d.toString();
    out += s;
    for (const l of s.split('\n')) if (l.trim() && lines.length < 10_000) lines.push(l);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('collector did not start:\n' + out)), 60_000);
    child.stderr!.on('data', keep);
    child.stdout!.on('data', (d: Buffer) => {
      keep(d);
      const m = /\{"listening":"([^"]+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1],
          child,
          log: () => lines,
          exited,
          alive: () => !gone,
          async kill9() {
            child.kill('SIGKILL');
            await exited;
          },
          async stop() {
            if (gone) return;
            child.kill('SIGTERM');
            const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
            await exited;
            clearTimeout(t);
          },
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`collector exited (${code}) before listening:\n${out}`));
    });
  });
}
