// Structured logs: one JSON line per problem, none per accepted event.
export type LogLevel = 'error' | 'warn' | 'info';
const rank: Record<LogLevel, number> = { error: 0, warn: 1, info: 2 };

export interface Log {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
}

export function createLog(level: LogLevel = 'info', write: (line: string) => void = (l) => process.stderr.write(l + '\n')): Log {
  const at = (l: LogLevel) => (msg: string, fields: Record<string, unknown> = {}) => {
    if (rank[l] <= rank[level]) write(JSON.stringify({ time: new Date().toISOString(), level: l, msg, ...fields }));
  };
  return { error: at('error'), warn: at('warn'), info: at('info') };
}

/** Marks an error already logged where it happened (a failed flush fails every request it held: one line, not one per request). */
export function markLogged(err: unknown): void {
  if (err && typeof err === 'object' && Object.isExtensible(err)) Object.assign(err, { logged: true });
}

export const wasLogged = (err: unknown): boolean => !!(err && typeof err === 'object' && (err as { logged?: unknown }).logged === true);
