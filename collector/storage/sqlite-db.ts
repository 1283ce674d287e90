// SQLite executor: WAL, prepared-statement cache, and a lock so that a transaction's awaits are never interleaved.
// Writes resolve only once their commit is on disk (wal-sync.ts: an fdatasync off the event loop, shared by writers).
// Reads outside a transaction go to a second, read-only connection: WAL lets them see the last commit without
// waiting behind a group-commit flush that holds the writer.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Db } from './db.js';
import { createWalSync } from './wal-sync.js';

export interface SqliteDb extends Db {
  readonly raw: Database.Database;
  /** Runs fn synchronously in one transaction once no async transaction holds the connection. */
  syncTransaction<T>(fn: () => T): Promise<T>;
  /** Checkpoints the WAL (call off the request path). */
  checkpoint(): void;
}

export function openSqlite(path: string): SqliteDb {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const raw = new Database(path);
  raw.pragma('journal_mode = WAL');
  // NORMAL: COMMIT does not fsync; every write below awaits syncWal() instead, so durability is that of FULL
  raw.pragma('synchronous = NORMAL');
  const syncWal = path === ':memory:' ? async () => {} : createWalSync(path);
  raw.pragma('busy_timeout = 5000');
  raw.pragma('foreign_keys = OFF');
  // Checkpoints run on a timer (checkpoint()), never inside a request's commit.
  raw.pragma('wal_autocheckpoint = 0');
  const cache = new Map<string, Database.Statement>();
  const prepare = (sql: string) => {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = raw.prepare(sql);
      if (cache.size > 500) cache.clear();
      cache.set(sql, stmt);
    }
    return stmt;
  };
  // U+0000 becomes U+FFFD as on PostgreSQL, whose text cannot hold it (pg-db.ts): the same text reads back on both engines.
  const bind = (params: readonly unknown[] = []) =>
    params.map((p) =>
      typeof p === 'string' ? (p.indexOf('\u0000') === -1 ? p : p.replaceAll('\u0000', '\uFFFD'))
      : typeof p === 'boolean' ? (p ? 1 : 0)
      : p === undefined ? null
      : p,
    );
  // A savepoint (attribution's) or a multi-row write inside a transaction keeps the original of each page it changes
  // in a sub-journal, which spills to a temporary file past 64 KiB: a file made, written and deleted per flush. In
  // memory it is a copy of those pages until the statement or savepoint ends (a flush's few hundred KiB). Set at the
  // first transaction, after the migrations, whose back-fills may rewrite a whole table and should keep spilling.
  let tempInMemory = false;
  const memoryTempStore = () => {
    if (tempInMemory) return;
    raw.pragma('temp_store = MEMORY');
    tempInMemory = true;
  };
  const begin = raw.prepare('BEGIN IMMEDIATE');
  const commit = raw.prepare('COMMIT');
  const rollback = raw.prepare('ROLLBACK');
  // One writer at a time, first come first served: a transaction's awaits are never interleaved with another write,
  // and the lock passes straight to the oldest waiter, so back-to-back group-commit flushes cannot starve a lone
  // write (a webhook claim, an admin change) that asked in between.
  let locked = false;
  const waiters: Array<() => void> = [];
  const release = () => {
    const next = waiters.shift();
    if (next) next(); // stays locked: handed over
    else locked = false;
  };
  const acquire = async (): Promise<() => void> => {
    if (locked) await new Promise<void>((r) => waiters.push(r));
    else locked = true;
    return release;
  };
  // The read connection (none for in-memory databases, which one connection cannot share).
  const reader = path === ':memory:' ? null : new Database(path, { readonly: true });
  reader?.pragma('busy_timeout = 5000');
  const readCache = new Map<string, Database.Statement>();
  /** The statement on the read connection when the SQL only reads, else null. */
  const readerStatement = (sql: string) => {
    if (!reader || !prepare(sql).readonly) return null;
    let stmt = readCache.get(sql);
    if (!stmt) {
      stmt = reader.prepare(sql);
      if (readCache.size > 500) readCache.clear();
      readCache.set(sql, stmt);
    }
    return stmt;
  };
  const direct = {
    all: <T>(sql: string, params?: readonly unknown[]) => {
      const stmt = prepare(sql);
      return (stmt.reader ? stmt.all(...bind(params)) : (stmt.run(...bind(params)), [])) as T[];
    },
    get: <T>(sql: string, params?: readonly unknown[]) => prepare(sql).get(...bind(params)) as T | undefined,
    run: (sql: string, params?: readonly unknown[]) => {
      const stmt = prepare(sql);
      if (stmt.reader) return stmt.all(...bind(params)).length; // RETURNING
      return stmt.run(...bind(params)).changes;
    },
  };
  /** Runs fn (synchronous) holding the write lock, in its turn. */
  const alone = async <T>(fn: () => T): Promise<T> => {
    const done = await acquire();
    try {
      return fn();
    } finally {
      done();
    }
  };
  /**
   * A statement run on its own (autocommit, under the lock: never inside a transaction) that wrote: its result once
   * the commit is on disk.
   */
  const durable = async <T>(sql: string, result: T): Promise<T> => {
    if (!prepare(sql).readonly) await syncWal();
    return result;
  };
  const txDb: Db = {
    dialect: 'sqlite',
    all: async (s, p) => direct.all(s, p),
    get: async (s, p) => direct.get(s, p),
    run: async (s, p) => direct.run(s, p),
    transaction: async (fn) => fn(txDb), // nested: same transaction
    close: async () => {},
  };
  const db: SqliteDb = {
    dialect: 'sqlite',
    raw,
    async all(sql, params) {
      const read = readerStatement(sql);
      if (read) return read.all(...bind(params)) as never[];
      return durable(sql, await alone(() => direct.all(sql, params)));
    },
    async get(sql, params) {
      const read = readerStatement(sql);
      if (read) return read.get(...bind(params)) as never;
      return durable(sql, await alone(() => direct.get(sql, params)));
    },
    async run(sql, params) {
      return durable(sql, await alone(() => direct.run(sql, params)));
    },
    async transaction(fn, onCommitted) {
      const release = await acquire();
      let result;
      try {
        memoryTempStore();
        begin.run();
        try {
          result = await fn(txDb);
          commit.run();
        } catch (err) {
          if (raw.inTransaction) rollback.run();
          throw err;
        }
      } finally {
        // the next transaction may begin while this one's commit goes to disk
        release();
      }
      onCommitted?.();
      await syncWal();
      return result;
    },
    async syncTransaction(fn) {
      const result = await alone(() => raw.transaction(fn).immediate());
      await syncWal();
      return result;
    },
    checkpoint() {
      raw.pragma('wal_checkpoint(PASSIVE)');
    },
    async close() {
      await alone(() => {
        if (reader?.open) reader.close();
        if (raw.open) {
          raw.pragma('wal_checkpoint(TRUNCATE)');
          raw.close();
        }
      });
    },
  };
  return db;
}
