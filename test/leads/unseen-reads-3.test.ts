// Reads judge (session 18), from contract §5 and the README ("HTTP API", "Replay"), on what earlier read tests leave out:
// - GET /api/leads in its default order, "newest activity first", after the admin replays the site (`npm run admin --
//   replay`). A replay rebuilds every lead from its stored events: nobody did anything, so it must not make every lead
//   "active" at the replay's moment, which ties them all and leaves the sales list in lead-id order.
// - `{ref}` as an email holding two dots in a row (`john..doe@example.com`): a browser's email field (the WHATWG rule
//   allows any dots in the local part), POST /e and POST /api/events all take it, so the lead must be readable and
//   erasable by it like any other email.
// Made through POST /e and POST /api/events on a real database (TEST_ENGINE=pg: PostgreSQL).
import { describe, expect, test } from 'vitest';
import { DAY, HOUR, T0 } from '../helpers/funnel-factories.js';
import { get, postEvents, useJourneys, type Journey } from '../helpers/journey-api.js';
import { replaySite } from '../../collector/funnel/replay.js';

const { open } = useJourneys();
type Profile = { leadId: string; updatedAt: string; visitorIds: string[] };
const visitor = (k: number) => `v_rj4_act_${k}`;

/** Every lead in `order=activity`, paged two at a time: the visitor of each, in list order. */
async function activityOrder(j: Journey): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  let cursor: string | null = null;
  do {
    const page: { items: Profile[]; nextCursor: string | null } = await get(j, `/api/leads?order=activity&limit=2${cursor ? '&cursor=' + cursor : ''}`);
    out.push(...page.items.map((p) => [p.visitorIds.join(','), p.updatedAt] as [string, string]));
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

describe('GET /api/leads?order=activity after a replay', () => {
  test('the leads keep their activity order and times; the next real activity still moves a lead to the top', async () => {
    const j = await open();
    // six visitors, one page each, an hour apart: lead k was last active at T0 + k h (the write of its page, 1 ms later)
    for (let k = 0; k < 6; k++) await j.visit(visitor(k), [{ path: '/' }], T0 + k * HOUR);
    const active = (k: number) => new Date(T0 + k * HOUR + 1).toISOString();
    const expected: Array<[string, string]> = [5, 4, 3, 2, 1, 0].map((k) => [visitor(k), active(k)]);
    expect(await activityOrder(j)).toEqual(expected);

    // a day later the admin replays the site (same rules): nothing the leads did changes
    j.clock.now = T0 + DAY;
    const replayed = await replaySite(j.db, j.site.siteId, { now: () => j.clock.now });
    expect(replayed.leads).toBe(6);
    expect(await activityOrder(j)).toEqual(expected);

    // visitor 2 comes back: it is the newest activity now, the others keep theirs
    await j.visit(visitor(2), [{ path: '/pricing' }], T0 + DAY + HOUR);
    const back: [string, string] = [visitor(2), new Date(T0 + DAY + HOUR + 1).toISOString()];
    expect(await activityOrder(j)).toEqual([back, ...expected.filter(([v]) => v !== visitor(2))]);
  });
});

describe('an email holding two dots in a row, as browsers and ingest take it', () => {
  test('names its lead on the profile, the timeline and the erasure, in any case and encoded; an id with ".." is still a 400', async () => {
    const j = await open();
    // a form's email field on the site (the snippet identifies the visitor with it), and a CRM contact
    await j.visit('v_rj4_dots', [{ path: '/' }, { n: 'identify', em: 'John..Doe@Example.com' }], T0);
    const crm = await postEvents(j, { email: 'Mary..Ann@Example.com', name: 'crm_note', id: 'note-dots-1' });
    const web = (await get(j, '/api/leads/v_rj4_dots')) as Profile & { email: string };
    expect(web.email).toBe('john..doe@example.com');

    for (const ref of ['john..doe@example.com', 'JOHN..DOE@EXAMPLE.COM', encodeURIComponent('John..Doe@Example.com')]) {
      const p = await get(j, `/api/leads/${ref}`);
      expect(p.leadId, ref).toBe(web.leadId);
      const t = await get(j, `/api/leads/${ref}/timeline?types=pageview`);
      expect(t.items.map((i: { visitorId: string }) => i.visitorId), ref).toEqual(['v_rj4_dots']);
    }
    expect((await get(j, '/api/leads/mary..ann%40example.com')).leadId).toBe(crm.events[0].leadId);

    // erasure by the email: the lead is gone, and its email then names nothing (404, not 400)
    const del = await j.app.request('/api/leads/Mary..Ann%40Example.com', { method: 'DELETE', headers: j.auth });
    expect(del.status).toBe(200);
    expect((await del.json()).leadId).toBe(crm.events[0].leadId);
    await get(j, '/api/leads/mary..ann%40example.com', 404);
    // no id holds "..": such a ref is still refused as malformed
    const bad = await get(j, '/api/leads/ld..x', 400);
    expect(bad.error.code).toBe('invalid_ref');
  });
});
