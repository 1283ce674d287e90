// Where a scale-out journey is played: over real HTTP on several collector processes sharing one PostgreSQL database,
// or through one in-process collector on SQLite. A journey names the collector of each request (`via`); one collector
// takes them all.
import type { CreatedApp } from '../../collector/app.js';
import { createKey, createSite } from '../../collector/admin.js';
import type { Db } from '../../collector/storage/db.js';
import type { Site } from '../../collector/storage/sites.js';
import type { WireEvent } from '../../shared/wire.js';
import { CHROME_UA } from '../helpers/factories.js';
import type { Collector } from './start-collector.js';

export interface Answer {
  status: number;
  body: any;
}

export interface Target {
  db: Db;
  site: Site;
  /** POST /e of one visitor's events through collector `via` */
  beacon(via: number, visitorId: string, events: WireEvent[]): Promise<Answer>;
  /** an /api request with the site's admin key through collector `via` */
  api(via: number, method: string, path: string, body?: unknown): Promise<Answer>;
}

const BEACON_HEADERS = { 'content-type': 'text/plain;charset=UTF-8', origin: 'http://127.0.0.1', 'user-agent': CHROME_UA };

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: kept as text */
  }
  return { status: res.status, body };
}

type Fetcher = (via: number, path: string, init: RequestInit) => Promise<Response>;

async function makeTarget(db: Db, fetcher: Fetcher): Promise<Target> {
  const site = await createSite(db, { domain: '127.0.0.1' });
  const { secret } = await createKey(db, site.siteId, ['admin']);
  const auth = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' };
  return {
    db,
    site,
    beacon: async (via, visitorId, events) =>
      answer(await fetcher(via, '/e', { method: 'POST', headers: BEACON_HEADERS, body: JSON.stringify({ s: site.siteKey, v: visitorId, e: events }) })),
    api: async (via, method, path, body) =>
      answer(await fetcher(via, path, { method, headers: auth, body: body === undefined ? undefined : JSON.stringify(body) })),
  };
}

/** A new site on the shared database, played on the collectors (via modulo their number). */
export const collectorsTarget = (db: Db, collectors: Collector[]) =>
  makeTarget(db, (via, path, init) => fetch(collectors[via % collectors.length].url + path, init));

/** A new site on one in-process collector: every `via` is that collector. */
export const singleTarget = (created: CreatedApp) => makeTarget(created.deps.db, (_via, path, init) => Promise.resolve(created.app.request(path, init)));

/** A visitor's events at given times, with ids made from the journey's name, so both targets store the same ids. */
export function eventsOf(prefix: string, list: Array<Omit<WireEvent, 'i' | 'u'> & { path?: string; u?: string }>): WireEvent[] {
  return list.map(({ path, ...e }, k) => ({ i: `${prefix}_${e.t}_${k}`.slice(0, 64), u: `http://127.0.0.1${path ?? '/'}`, ...e }) as WireEvent);
}
