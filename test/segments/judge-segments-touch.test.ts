// `touch` source conditions judged over real HTTP (app.request) on a real SQLite file. Contract §6 gives
// `{ "touch": { "model": "first", "source": "google" } }`; without a utm_source a touch's source is its referrer
// (collector/segments/matches.ts: "google" matches google.com and google.co.uk). Real referrers of the networks a
// marketer names are mostly subdomains or apps: Facebook's outbound link shim `l.facebook.com` (`lm.` on mobile),
// `m.facebook.com`, `news.google.com`, `old.reddit.com`, and the Google app's `android-app://` referrer, which the
// channel rules already read as google.com. A segment of visitors "from facebook" must hold them.
import { describe, expect, test } from 'vitest';
import { T0, useUnthrottledApps } from '../hardening/hardening-app.js';
import { createKey } from '../../collector/admin.js';
import { judgeCalls } from './judge-calls.js';

const ORIGIN = 'http://127.0.0.1';
const { open } = useUnthrottledApps();

describe('a touch source named without its domain, against the referrers visits really carry', () => {
  test.each([
    ['https://l.facebook.com/', 'facebook', true],
    ['https://lm.facebook.com/l.php?u=x', 'facebook', true],
    ['https://m.facebook.com/', 'facebook', true],
    ['https://m.facebook.com/', 'facebook.com', true],
    ['https://news.google.com/', 'google', true],
    ['https://www.google.co.uk/', 'google', true],
    ['android-app://com.google.android.googlequicksearchbox/', 'google', true],
    ['android-app://com.linkedin.android/', 'linkedin', true],
    ['https://old.reddit.com/r/saas', 'reddit', true],
    ['https://notfacebook.com/', 'facebook', false],
    ['https://facebookmarketing.example/', 'facebook', false],
    ['https://www.bing.com/', 'google', false],
  ])('first landing from %s: in the segment of source "%s": %s', async (ref, source, expected) => {
    const h = await open();
    const writer = (await createKey(h.db, h.site.siteId, ['events:write'], T0)).secret;
    const { put, send } = judgeCalls(h, writer, ORIGIN);
    await put('t_from', { touch: { model: 'first', source } });
    const v = 'v_touch_src_0001';
    await send(v, [{ n: 'pageview', u: ORIGIN + '/', r: ref }]);
    const res = await h.app.request(`/api/visitors/${v}/segments?site=${h.site.siteKey}`, { headers: { origin: ORIGIN } });
    expect(((await res.json()).segments as string[]).includes('t_from')).toBe(expected);
    expect((await (await h.api('/api/segments/t_from')).json()).count).toBe(expected ? 1 : 0);
  });
});
