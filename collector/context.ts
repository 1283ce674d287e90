// What every route and service receives: the database, config, log, metrics and clock.
import type { Db } from './storage/db.js';
import type { Config } from './config.js';
import type { Log } from './ops/log.js';
import type { Metrics } from './ops/metrics.js';
import type { Scope } from '../shared/scopes.js';
import type { EventWriter } from './ingest/store.js';

export interface Deps {
  db: Db;
  config: Config;
  log: Log;
  metrics: Metrics;
  now: () => number;
  /** group-commit writer: every event (beacon or server-side) is stored through it */
  writer: EventWriter;
}

export interface AppEnv {
  Variables: {
    deps: Deps;
    /** set by requireScope: the site the presented key belongs to */
    siteId: string;
    scopes: Scope[];
  };
}
