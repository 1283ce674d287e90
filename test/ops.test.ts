import { describe, expect, test } from 'vitest';
import { createApp } from '../collector/app.js';
import { openTestSqlite } from './helpers/test-db.js';

describe('operations routes', () => {
  test('GET /healthz answers ok with the engine name', async () => {
    const db = await openTestSqlite();
    const { app } = createApp({ db });
    const res = await app.request('/healthz');
    expect(res.status).toBe(200);
    // 'sqlite' here; 'pg' when the suite runs with TEST_ENGINE=pg
    expect(await res.json()).toEqual({ ok: true, engine: db.dialect });
    expect(['sqlite', 'pg']).toContain(db.dialect);
  });
  test('unknown routes answer 404 with the error shape', async () => {
    const { app } = createApp({ db: await openTestSqlite() });
    const res = await app.request('/nope');
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('not_found');
  });
  test('GET /openapi.json describes /healthz', async () => {
    const { app } = createApp({ db: await openTestSqlite() });
    const doc = await (await app.request('/openapi.json')).json();
    expect(doc.paths['/healthz']).toBeDefined();
  });
});
