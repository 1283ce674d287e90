// SQLite opens a file it may not write (a read-only file or mount) read-only without a word: the collector would
// listen and answer every beacon 503. Writing the header's user_version, unchanged, finds it at start instead.
import type { Db } from '../storage/db.js';
import type { SqliteDb } from '../storage/sqlite-db.js';

/** Throws when the SQLite database cannot be written. */
export async function checkWritable(db: Db): Promise<void> {
  const raw = (db as SqliteDb).raw;
  raw.pragma(`user_version = ${Number(raw.pragma('user_version', { simple: true })) || 0}`);
}
