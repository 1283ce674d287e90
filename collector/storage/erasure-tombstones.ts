// Erasure tombstones: what an erased lead's devices and email may still send (a snippet's outbox resent after the
// erasure, a CRM backfill) is recognised and dropped. A tombstone names its subject by a domain-separated SHA-256 only
// (no raw id, no column the erasure's catalog sweep deletes by), with the event times it covers.
import { createHash } from 'node:crypto';
import type { Db } from './db.js';
import { chunkRows, listSql } from './multi-row.js';
import { emailSpellings } from '../identity/canonical-email.js';

/** What a tombstone covers: events of the subject with `fromAt <= at <= toAt` (both inclusive, epoch ms). */
export interface Tombstone {
  siteId: string;
  subjectHash: string;
  fromAt: number;
  toAt: number;
  erasedAt: number;
}

/** An event, as far as tombstones go: its site, visitor, email when it identifies, lead when named, and time. */
export interface ErasableEvent {
  siteId: string;
  visitorId: string | null;
  email: string | null;
  /** a server event's `leadId` */
  leadId?: string | null;
  at: number;
}

export type SubjectKind = 'visitor' | 'email' | 'lead';

/**
 * The subject's hash. Domain-separated: never equal to the SHA-256 of the raw value (which erasure looks for in
 * free-text rows) nor to the hash an anonymous lead id is derived from (anonymous-lead-id.ts), so it links to neither.
 */
export const subjectHash = (kind: SubjectKind, siteId: string, value: string) =>
  createHash('sha256').update(`funnelbeam.erased.${kind}\u0000${siteId}\u0000${value}`).digest('hex');

/** PostgreSQL advisory lock: erasure holds it exclusively, every event write shares it (see lockTombstones). */
const TOMBSTONE_LOCK = 7262003;

/**
 * PostgreSQL: an erasure (exclusive) waits for the writes already past their tombstone check, and writes (shared)
 * wait for an erasure under way, so no collector stores an event between another's erasure and its tombstone.
 * SQLite needs nothing: its write transactions are serialized (BEGIN IMMEDIATE). Call first in the transaction.
 */
export async function lockTombstones(tx: Db, mode: 'shared' | 'exclusive'): Promise<void> {
  if (tx.dialect !== 'pg') return;
  const fn = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
  await tx.get(`SELECT ${fn}(?::bigint) AS locked`, [TOMBSTONE_LOCK]);
}

export async function insertTombstones(tx: Db, rows: readonly Tombstone[]): Promise<void> {
  const sql = `INSERT INTO erasure_tombstones (site_id, subject_hash, from_at, to_at, erased_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (site_id, subject_hash, from_at) DO UPDATE SET
      to_at = CASE WHEN excluded.to_at > erasure_tombstones.to_at THEN excluded.to_at ELSE erasure_tombstones.to_at END,
      erased_at = excluded.erased_at`;
  for (const r of rows) await tx.run(sql, [r.siteId, r.subjectHash, r.fromAt, r.toAt, r.erasedAt]);
}

type TombstoneRow = { site_id: string; subject_hash: string; from_at: number; to_at: number };

/** The tombstones of some subjects: per `site_id \0 subject_hash`, the time ranges covered. */
async function findTombstones(tx: Db, keys: ReadonlyMap<string, { siteId: string; hash: string }>): Promise<Map<string, Array<[number, number]>>> {
  const out = new Map<string, Array<[number, number]>>();
  if (keys.size === 0) return out;
  const sites = [...new Set([...keys.values()].map((k) => k.siteId))];
  const hashes = [...new Set([...keys.values()].map((k) => k.hash))];
  const rows: TombstoneRow[] = [];
  if (tx.dialect === 'pg') {
    // one statement, one text whatever the count: a flush pays one round trip here
    rows.push(...(await tx.all<TombstoneRow>(
      'SELECT site_id, subject_hash, from_at, to_at FROM erasure_tombstones WHERE site_id = ANY(?::text[]) AND subject_hash = ANY(?::text[])',
      [sites, hashes],
    )));
  } else {
    for (const chunk of chunkRows(hashes)) {
      rows.push(...(await tx.all<TombstoneRow>(
        `SELECT site_id, subject_hash, from_at, to_at FROM erasure_tombstones
         WHERE site_id IN (${listSql(sites.length)}) AND subject_hash IN (${listSql(chunk.length)})`,
        [...sites, ...chunk],
      )));
    }
  }
  for (const r of rows) {
    const k = r.site_id + '\u0000' + r.subject_hash;
    (out.get(k) ?? out.set(k, []).get(k)!).push([Number(r.from_at), Number(r.to_at)]);
  }
  return out;
}

export interface ErasedEvents {
  /** indexes of the events an erasure covers */
  erased: Set<number>;
  /**
   * devices of the list that an erasure covered, by `site_id \0 visitor_id`, with the end of their latest covered span:
   * such a device starts again as a new anonymous lead, never under the erased lead's id (identity-resolver.ts)
   */
  restarted: Map<string, number>;
}

/**
 * The events an erasure covers: the event's visitor, the email it identifies with or the lead it names has a tombstone
 * whose range holds the event's time. One indexed read for the whole list (PostgreSQL; SQLite: one per 64 subjects).
 */
export async function findErasedEvents(tx: Db, events: readonly ErasableEvent[]): Promise<ErasedEvents> {
  // SQLite: no tombstone of these sites (the usual case), nothing to hash (a SHA-256 per visitor and lead, 1–3 µs
  // each); PostgreSQL keeps its one round trip
  if (tx.dialect !== 'pg' && !(await anyTombstone(tx, events))) return { erased: new Set(), restarted: new Map() };
  const subjects = new Map<string, { siteId: string; hash: string }>();
  // per event, the keys of its subjects (a request's events share their visitor: hashed once)
  const eventKeys: string[][] = [];
  const memo = new Map<string, string>();
  const keyOf = (kind: SubjectKind, siteId: string, value: string) => {
    const m = kind + '\u0000' + siteId + '\u0000' + value;
    let k = memo.get(m);
    if (k === undefined) {
      const hash = subjectHash(kind, siteId, value);
      k = siteId + '\u0000' + hash;
      memo.set(m, k);
      subjects.set(k, { siteId, hash });
    }
    return k;
  };
  for (const e of events) {
    const keys: string[] = [];
    if (e.visitorId) keys.push(keyOf('visitor', e.siteId, e.visitorId));
    // an erasure before emails had one spelling hashed the email as it was stored: either spelling of its domain
    if (e.email) for (const spelling of emailSpellings(e.email)) keys.push(keyOf('email', e.siteId, spelling));
    if (e.leadId) keys.push(keyOf('lead', e.siteId, e.leadId));
    eventKeys.push(keys);
  }
  const found = await findTombstones(tx, subjects);
  const erased = new Set<number>();
  const restarted = new Map<string, number>();
  if (found.size === 0) return { erased, restarted };
  events.forEach((e, i) => {
    if (eventKeys[i].some((k) => found.get(k)?.some(([from, to]) => e.at >= from && e.at <= to))) erased.add(i);
    const device = e.visitorId ? found.get(keyOf('visitor', e.siteId, e.visitorId)) : undefined;
    if (device) restarted.set(e.siteId + '\u0000' + e.visitorId, Math.max(...device.map(([, to]) => to)));
  });
  return { erased, restarted };
}

/** Tombstones of erasures before the retention cutoff: a beacon event that old is refused at ingest anyway (7 days). */
export async function purgeTombstones(db: Db, cutoff: number): Promise<number> {
  return db.run('DELETE FROM erasure_tombstones WHERE erased_at < ?', [cutoff]);
}

/** Whether any site of these events has a tombstone: one probe of the primary key's first column for their sites. */
async function anyTombstone(tx: Db, events: readonly ErasableEvent[]): Promise<boolean> {
  if (events.length === 0) return false;
  let sites: string[] = [events[0].siteId];
  for (const e of events) if (e.siteId !== sites[0] && !sites.includes(e.siteId)) sites = [...sites, e.siteId];
  const row = await tx.get<{ found: number }>(
    `SELECT 1 AS found FROM erasure_tombstones WHERE site_id IN (${sites.map(() => '?').join(', ')}) LIMIT 1`, sites,
  );
  return row !== undefined;
}
