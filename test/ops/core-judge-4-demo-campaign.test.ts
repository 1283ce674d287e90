// README "Two commands": `npm start` prints the demo's address, and a newcomer trying a campaign link on it types the
// address as the home page's link reads without its slash: `/demo?utm_source=newsletter&utm_medium=email`. The
// collector moved `/demo` to `/demo/` (301) without the query, so the landing view carried no campaign and the visit
// was stored as direct, where a visit tagged email is email (README "Ingest", step 3). `/demo/pricing/` already kept
// its query on the same kind of move (test/routes/home.test.ts).
import { describe, expect, test } from 'vitest';
import { createApp } from '../../collector/app.js';
import { ensureDemoSite } from '../../collector/demo/demo-site.js';
import { openTestSqlite } from '../helpers/test-db.js';

describe('the demo home asked for without its slash', () => {
  test('/demo moves to /demo/ (301) with its query kept; without one it moves as before', async () => {
    const db = await openTestSqlite();
    await ensureDemoSite(db, '127.0.0.1');
    const { app, close } = createApp({ db });
    const tagged = await app.request('/demo?utm_source=newsletter&utm_medium=email&utm_campaign=nov');
    expect(tagged.status).toBe(301);
    expect(tagged.headers.get('location')).toBe('/demo/?utm_source=newsletter&utm_medium=email&utm_campaign=nov');
    const ad = await app.request('/demo?gclid=Cj0KCQ');
    expect(ad.headers.get('location')).toBe('/demo/?gclid=Cj0KCQ');
    const plain = await app.request('/demo');
    expect(plain.status).toBe(301);
    expect(plain.headers.get('location')).toBe('/demo/');
    expect((await app.request('/demo/?utm_source=newsletter')).status).toBe(200);
    await close();
    await db.close();
  });
});
