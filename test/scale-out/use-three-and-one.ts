// The hooks every scale-out journey file registers around its rig: three collector processes on one PostgreSQL
// database and one collector in process on SQLite, started once before the file's tests and stopped after them.
import { afterAll, beforeAll } from 'vitest';
import { startThreeAndOne, stopThreeAndOne, type ThreeAndOne } from './three-collectors.js';

/**
 * Registers beforeAll (start, up to 180 s) and afterAll (stop) in the calling describe block, and returns the rig
 * whose parts are read when a test runs (reading one before beforeAll has run is an error).
 */
export function useThreeAndOne(): Readonly<ThreeAndOne> {
  let rig: ThreeAndOne | undefined;
  beforeAll(async () => {
    rig = await startThreeAndOne();
  }, 180_000);
  afterAll(() => stopThreeAndOne(rig ?? { collectors: [] }));
  const started = (): ThreeAndOne => {
    if (!rig) throw new Error('the three collectors and the lone one are not started (read the rig inside a test or hook)');
    return rig;
  };
  return {
    get shared() { return started().shared; },
    get lone() { return started().lone; },
    get url() { return started().url; },
    get collectors() { return started().collectors; },
    get single() { return started().single; },
  };
}
