// Segment history of one millisecond, judged over real HTTP (app.request) on a real SQLite file. README (Segments):
// "Entering and leaving are kept as `segment` timeline items … A segment item's `at` is the time of the write that
// decided it"; contract §5: the timeline is "newest first". Two writes in one millisecond (a beacon flushed, then the
// next one, or the sweep and a flush; a fast collector or a clock that stands still) each decide a change at the same
// `at`: the later write's change is the newer one and must be listed first, or the lead's timeline ends with
// `entered` for a segment it has left.
import { describe, expect, test } from 'vitest';
import { T0, useUnthrottledApps } from '../hardening/hardening-app.js';
import { createKey } from '../../collector/admin.js';
import { judgeCalls } from './judge-calls.js';

const ORIGIN = 'http://127.0.0.1';
const { open } = useUnthrottledApps();

describe('segment changes decided by two writes in one millisecond', () => {
  test('the timeline lists the later write first: exited above entered', async () => {
    const h = await open();
    for (const { key } of (await (await h.api('/api/segments')).json()).segments as Array<{ key: string }>) {
      expect((await h.api(`/api/segments/${key}`, { method: 'DELETE' })).status).toBe(204);
    }
    const writer = (await createKey(h.db, h.site.siteId, ['events:write'], T0)).secret;
    const { put, send } = judgeCalls(h, writer, ORIGIN);
    await put('t_pricing_no_exit', { all: [{ did: { event: 'pageview', path: '/pricing' } }, { not: { did: { event: 'demo_request' } } }] });
    // ten leads: a random tie-break would put a leaving above its entering for one of them with odds 1 − 2⁻¹⁰
    for (let i = 0; i < 10; i++) {
      const v = `v_same_ms_${String(i).padStart(4, '0')}`;
      h.clock.t = T0 + i * 1000;
      await send(v, [{ n: 'pageview', u: ORIGIN + '/pricing', t: h.clock.t }]);
      await send(v, [{ n: 'demo_request', u: ORIGIN + '/demo', t: h.clock.t }]);
      const res = await h.api(`/api/leads/${v}/timeline?types=segment`);
      expect(res.status, await res.clone().text()).toBe(200);
      const items = (await res.json()).items as Array<{ kind: string; segment: string; change: string; at: string }>;
      const mine = items.filter((x) => x.segment === 't_pricing_no_exit').map((x) => `${x.change}@${Date.parse(x.at) - h.clock.t}`);
      expect(mine, v).toEqual(['exited@0', 'entered@0']);
    }
  });
});
