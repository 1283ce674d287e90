// Outside judge of identity as the CRM loop meets it (issue 4, contract §5 `POST /api/events`, README "Funnel engine →
// Identity", "HTTP API"), on what the earlier identity and journey files leave out: one address as a CRM and a form
// write it (case, tabs and no-break spaces, plus-addressing, invisible characters pasted with it); a CRM that names a
// device never seen together with a known email, whose earlier pages then arrive; a server event id sent again with
// other content; a device that goes A → B → A with every link kept in both timelines; three devices of one person
// converging through a form, `identify` and the CRM; the same event id sent twice at once, and a device named as two
// people at once by the form's beacon and the CRM (PostgreSQL: several requests write at once). Real HTTP
// (app.request) on a real database (PostgreSQL with TEST_ENGINE=pg); expected values are worked out by hand from the
// README, never read back from the code.
// Found and fixed (session 15):
// - an invisible character pasted into an address's local part made another person (canonical-email.ts);
// - on PostgreSQL, a server event id sent twice at once was resolved twice: the copy not stored made a lead for its
//   email, switched the device, and was answered `duplicate: false` (record-server-events.ts + lockServerEventIds);
// - on PostgreSQL, a device named by a beacon and a CRM call at once: one event under the other person's lead, or a
//   deadlock that left the form's event unattributed (record-server-events.ts + lockVisitors).
import { describe, expect, test } from 'vitest';
import { HOUR, MIN, T0 } from '../helpers/funnel-factories.js';
import { engine, get, iso, postEvents, profile, timeline, useJourneys, type Journey } from '../helpers/journey-api.js';

const { open } = useJourneys();

/** Every lead of the site (order=id pages through all of them). */
const allLeads = async (j: Journey) => ((await get(j, '/api/leads?order=id&limit=500')).items as Array<{ leadId: string; email: string | null }>);
const identityItems = async (j: Journey, ref: string) =>
  (await timeline(j, ref, 'types=identity&limit=500')).items.map((i) => `${i.name}:${i.visitorId}:${Date.parse(i.at) - T0}:${i.reason}`);

describe('one address as the CRM and the form write it', () => {
  test('case, tabs and no-break spaces around it are one lead; a plus-addressed variant is another person (README: the local part is kept)', async () => {
    const j = await open();
    await j.visit('v_spell_dev1', [{ path: '/pricing' }, { n: 'demo_request', f: 'demo', path: '/demo', em: 'Anna.Smith@Acme.COM' }], T0);
    const anna = await profile(j, 'v_spell_dev1');
    expect(anna.email).toBe('anna.smith@acme.com');
    j.clock.now = T0 + HOUR;
    const r = await postEvents(j, [
      { id: 'crm-spell-1', email: '\tANNA.SMITH@acme.com\u00a0', name: 'sales_accepted', at: iso(T0 + 10 * MIN) },
      { id: 'crm-spell-2', email: ' anna.smith@ACME.com ', name: 'closed_won', at: iso(T0 + 20 * MIN) },
      { id: 'crm-spell-3', email: 'anna.smith+crm@acme.com', name: 'opportunity_created', at: iso(T0 + 30 * MIN) },
    ]);
    expect(r.events.map((e: any) => e.leadId === anna.leadId)).toEqual([true, true, false]);
    expect(await profile(j, 'ANNA.SMITH@ACME.COM')).toMatchObject({ leadId: anna.leadId, stage: 'purchase', sql: true, visitorIds: ['v_spell_dev1'] });
    const plus = await profile(j, 'anna.smith+crm@acme.com');
    expect(plus.leadId).not.toBe(anna.leadId);
    expect(plus).toMatchObject({ email: 'anna.smith+crm@acme.com', visitorIds: [] });
    expect((await allLeads(j)).map((l) => l.email).sort()).toEqual(['anna.smith+crm@acme.com', 'anna.smith@acme.com']);
  });

  // A CRM field pasted from a web page or a document often carries an invisible format character (a zero-width space,
  // a soft hyphen): the audience exports already drop them (collector/audiences/normalize-email.ts, "copy and paste
  // leave in an address"), so both spellings hash to one address for Google and Meta, but identity keeps them apart
  // when they sit in the local part (in the domain, Unicode's host-name mapping already drops them): two identified
  // leads for one person, never merged, the deal and the SQL on the wrong one, and the same hashed address exported
  // twice. Found by this judge; fixed in collector/identity/canonical-email.ts.
  test('an address with an invisible character pasted into it is the same person as the form\'s', async () => {
    const j = await open();
    await j.visit('v_zwsp_dev01', [{ path: '/pricing' }, { n: 'identify', em: 'bo@beta.test' }], T0);
    const bo = await profile(j, 'bo@beta.test');
    j.clock.now = T0 + HOUR;
    const r = await postEvents(j, [
      { id: 'crm-zw-1', email: 'bo\u200b@beta.test', name: 'sales_accepted', at: iso(T0 + 10 * MIN) },
      { id: 'crm-zw-2', email: '\ufeffb\u00ado@beta.test', name: 'closed_won', at: iso(T0 + 20 * MIN) },
    ]);
    expect(r.events.map((e: any) => e.leadId)).toEqual([bo.leadId, bo.leadId]);
    expect(await profile(j, 'bo@beta.test')).toMatchObject({ stage: 'purchase', sql: true });
    expect((await allLeads(j)).length).toBe(1);
  });
});

describe('a device the CRM names before the collector has seen it', () => {
  // README: "A visitor never identified is identified by it from its first sight on (claim or merge)", and a link
  // covers a time before the first link: the device's pages that reach the collector later, dated before the CRM
  // event (an outbox sent on the next visit), are the person's too.
  test('with the email of a known lead: the device joins it, and its earlier pages arriving afterwards are that lead\'s', async () => {
    const j = await open();
    await j.visit('v_cara_laptop', [{ path: '/' }, { n: 'newsletter_signup', f: 'newsletter', em: 'cara@crm.test' }], T0);
    const cara = await profile(j, 'cara@crm.test');
    j.clock.now = T0 + 3 * HOUR;
    // the CRM's form handler passes the phone's visitor id from a hidden field
    const r = await postEvents(j, { id: 'crm-cara-demo', visitorId: 'v_cara_phone0', email: 'Cara@CRM.test', name: 'demo_completed', at: iso(T0 + 2 * HOUR) });
    expect(r.events[0]).toMatchObject({ leadId: cara.leadId, duplicate: false });
    // the phone's own pages, made at T0+1h (before the CRM event), arrive now
    await j.visit('v_cara_phone0', [{ path: '/pricing' }, { path: '/case-studies/acme' }], T0 + HOUR);
    const p = await profile(j, 'v_cara_phone0');
    expect(p.leadId).toBe(cara.leadId);
    expect(p.visitorIds).toEqual(['v_cara_laptop', 'v_cara_phone0']);
    expect((await allLeads(j)).map((l) => l.leadId)).toEqual([cara.leadId]);
    const events = (await timeline(j, cara.leadId, 'types=event')).items.map((i) => `${i.name}:${i.visitorId}:${Date.parse(i.at) - T0}`);
    expect(events).toEqual([
      `demo_completed:v_cara_phone0:${2 * HOUR}`,
      `pageview:v_cara_phone0:${HOUR + 1}`,
      `pageview:v_cara_phone0:${HOUR}`,
      `newsletter_signup:v_cara_laptop:1`,
      'pageview:v_cara_laptop:0',
    ]);
    // awareness and interest (newsletter) at T0; the phone's pricing at T0+1h: consideration; demo_completed: evaluation
    expect((await timeline(j, cara.leadId, 'types=stage')).items.map((i) => `${i.from}>${i.to}:${Date.parse(i.at) - T0}`)).toEqual([
      `consideration>evaluation:${2 * HOUR}`,
      `interest>consideration:${HOUR}`,
      'awareness>interest:1',
      'null>awareness:0',
    ]);
  });

  test('with a new email and no web history: the lead the CRM makes is the one the device\'s later identify and pages land in', async () => {
    const j = await open();
    j.clock.now = T0 + HOUR;
    const r = await postEvents(j, { id: 'crm-dan-won', visitorId: 'v_dan_tablet', email: 'dan@delta.test', name: 'closed_won', at: iso(T0 + HOUR) });
    const dan = r.events[0].leadId;
    expect(await profile(j, 'dan@delta.test')).toMatchObject({ leadId: dan, stage: 'purchase', visitorIds: ['v_dan_tablet'] });
    await j.visit('v_dan_tablet', [{ path: '/pricing' }, { n: 'identify', em: 'DAN@delta.test' }], T0 + 2 * HOUR);
    expect((await profile(j, 'v_dan_tablet')).leadId).toBe(dan);
    expect((await allLeads(j)).length).toBe(1);
    // identifying again as the same person changes no link: one identity link for the device, made by the CRM
    expect((await identityItems(j, dan)).filter((x) => x.startsWith('identity_linked'))).toHaveLength(1);
  });
});

describe('a server event id sent again with other content', () => {
  test('answered as a duplicate of the first, under its lead; the new content creates, identifies and changes nothing', async () => {
    const j = await open();
    await j.visit('v_dup_dev1', [{ path: '/' }, { n: 'identify', em: 'eve@echo.test' }], T0);
    const eve = await profile(j, 'eve@echo.test');
    j.clock.now = T0 + HOUR;
    const first = await postEvents(j, { id: 'deal-42', email: 'eve@echo.test', name: 'demo_completed', at: iso(T0 + 30 * MIN), traits: { company: 'Echo' } });
    expect(first).toMatchObject({ accepted: 1, duplicates: 0, events: [{ id: 'deal-42', leadId: eve.leadId, duplicate: false }] });
    const before = await profile(j, eve.leadId);
    // the CRM reuses the id for another record: another person, another name, a visitor to identify, other traits
    const again = await postEvents(j, [
      { id: 'deal-42', email: 'frank@foxtrot.test', name: 'closed_won', traits: { company: 'Foxtrot' } },
      { id: 'deal-42', visitorId: 'v_dup_dev1', email: 'gina@golf.test', name: 'sales_accepted' },
    ]);
    expect(again).toMatchObject({ accepted: 0, duplicates: 2 });
    expect(again.events).toEqual([
      { index: 0, id: 'deal-42', leadId: eve.leadId, duplicate: true },
      { index: 1, id: 'deal-42', leadId: eve.leadId, duplicate: true },
    ]);
    const after = await profile(j, eve.leadId);
    expect(after).toMatchObject({ stage: before.stage, score: before.score, sql: false, traits: before.traits, visitorIds: ['v_dup_dev1'] });
    expect(after.traits.company).toBe('Echo');
    expect((await profile(j, 'v_dup_dev1')).leadId).toBe(eve.leadId);
    expect((await allLeads(j)).map((l) => l.email)).toEqual(['eve@echo.test']);
    for (const email of ['frank@foxtrot.test', 'gina@golf.test']) expect((await j.app.request('/api/leads/' + email, { headers: j.auth })).status).toBe(404);
    const srv = (await timeline(j, eve.leadId, 'types=event')).items.filter((i) => i.visitorId.startsWith('srv:') || i.name !== 'pageview' && i.name !== 'identify');
    expect(srv.map((i) => i.name)).toEqual(['demo_completed']);
  });
});

describe('one device: A, then B, then A again', () => {
  test('each switch is a link in both timelines at its instant; nothing of B moves to A or back', async () => {
    const j = await open();
    await j.visit('v_aba_one', [{ path: '/' }, { n: 'identify', em: 'ann@a.test' }], T0);
    await j.visit('v_aba_one', [{ n: 'identify', em: 'ben@b.test' }, { path: '/pricing' }], T0 + HOUR);
    await j.visit('v_aba_one', [{ n: 'identify', em: 'Ann@A.test' }, { path: '/careers' }], T0 + 2 * HOUR);
    const ann = await profile(j, 'ann@a.test');
    const ben = await profile(j, 'ben@b.test');
    expect((await profile(j, 'v_aba_one')).leadId).toBe(ann.leadId);
    expect((await allLeads(j)).length).toBe(2);
    // the device's events by lead: A's before T0+1h and from T0+2h, B's in between
    const ev = async (ref: string) => (await timeline(j, ref, 'types=event')).items.map((i) => `${i.name}:${Date.parse(i.at) - T0}`);
    expect(await ev(ann.leadId)).toEqual([`pageview:${2 * HOUR + 1}`, `identify:${2 * HOUR}`, 'identify:1', 'pageview:0']);
    expect(await ev(ben.leadId)).toEqual([`pageview:${HOUR + 1}`, `identify:${HOUR}`]);
    // B saw pricing; A never did: A's second visit (T0+2h, opened by the identify) is interest, B reached consideration
    expect(ann.stage).toBe('interest');
    expect(ben.stage).toBe('consideration');
    // every change: first sight and identification at T0 (anonymous lead claimed the email, so one lead throughout),
    // unlinked at T0+1h, linked again at T0+2h; B: linked at T0+1h, unlinked at T0+2h
    expect(await identityItems(j, ann.leadId)).toEqual([
      `identity_linked:v_aba_one:${2 * HOUR}:switched`,
      `identity_unlinked:v_aba_one:${HOUR}:identified`,
      'identity_linked:v_aba_one:1:identified',
      'identity_unlinked:v_aba_one:1:first_seen',
      'identity_linked:v_aba_one:0:first_seen',
    ]);
    expect(await identityItems(j, ben.leadId)).toEqual([
      `identity_unlinked:v_aba_one:${2 * HOUR}:switched`,
      `identity_linked:v_aba_one:${HOUR}:switched`,
    ]);
  });
});

describe('three devices of one person converging', () => {
  test('a form on the laptop, identify on the tablet, the CRM naming the phone: one lead with every device\'s history', async () => {
    const j = await open();
    // each device browses anonymously first
    await j.visit('v_conv_laptop', [{ path: '/' }], T0);
    await j.visit('v_conv_tablet', [{ path: '/compare/us-vs-them' }], T0 + HOUR);
    await j.visit('v_conv_phone0', [{ path: '/pricing' }], T0 + 2 * HOUR);
    const anon = { tablet: (await profile(j, 'v_conv_tablet')).leadId, phone: (await profile(j, 'v_conv_phone0')).leadId };
    expect((await allLeads(j)).length).toBe(3);
    // then: the laptop's contact form, the tablet's identify (other case), the CRM naming the phone (spaces around)
    await j.visit('v_conv_laptop', [{ n: 'form_submit', f: 'other', path: '/contact', em: 'hal@hotel.test' }], T0 + 3 * HOUR);
    await j.visit('v_conv_tablet', [{ n: 'identify', em: 'HAL@hotel.TEST' }], T0 + 4 * HOUR);
    j.clock.now = T0 + 5 * HOUR;
    await postEvents(j, { id: 'crm-hal-acc', visitorId: 'v_conv_phone0', email: '  hal@hotel.test ', name: 'sales_accepted' });
    const hal = await profile(j, 'hal@hotel.test');
    expect(hal.visitorIds).toEqual(['v_conv_laptop', 'v_conv_phone0', 'v_conv_tablet']);
    expect((await allLeads(j)).map((l) => l.leadId)).toEqual([hal.leadId]);
    // the anonymous leads of tablet and phone are aliases of hal now
    for (const id of Object.values(anon)) expect((await profile(j, id)).leadId).toBe(hal.leadId);
    // every event of every device, newest first
    expect((await timeline(j, hal.leadId, 'types=event')).items.map((i) => `${i.name}:${i.visitorId}`)).toEqual([
      'sales_accepted:v_conv_phone0',
      'identify:v_conv_tablet',
      'form_submit:v_conv_laptop',
      'pageview:v_conv_phone0',
      'pageview:v_conv_tablet',
      'pageview:v_conv_laptop',
    ]);
    // stages from the union: awareness T0; the comparison page (T0+1h) consideration; a second session (tablet at
    // T0+1h is the person's second visit) is interest, below consideration, entered at the same event first; the contact
    // form (T0+3h) intent
    expect((await timeline(j, hal.leadId, 'types=stage')).items.map((i) => `${i.from}>${i.to}:${(Date.parse(i.at) - T0) / HOUR}`)).toEqual([
      'consideration>intent:3',
      'interest>consideration:1',
      'awareness>interest:1',
      'null>awareness:0',
    ]);
    expect(hal).toMatchObject({ stage: 'intent', sql: true, sqlAt: iso(T0 + 5 * HOUR), identifiedAt: iso(T0 + 3 * HOUR) });
    // the merges are identity items of hal: tablet and phone each merged at their instant
    const items = await identityItems(j, hal.leadId);
    expect(items).toContain(`identity_linked:v_conv_tablet:${4 * HOUR}:merged`);
    expect(items).toContain(`identity_linked:v_conv_phone0:${5 * HOUR}:merged`);
    expect(items).toContain(`identity_linked:v_conv_laptop:${3 * HOUR}:identified`);
  });
});

describe('the same server event id sent twice at once (a CRM retrying before its first request was answered)', () => {
  // Several collectors on one PostgreSQL, or one collector serving two requests: an event that is not stored must
  // make, identify or move nothing (README, POST /api/events: "a retried event is stored once"), and its answer says
  // it is the duplicate, under the lead of the one stored. Found by this judge on PostgreSQL (SQLite has one writer):
  // both requests read the id as not stored, both resolved their lead (the second made a lead for its email and
  // switched the device to it) and the second was answered `duplicate: false` under that lead. The fix takes
  // lockServerEventIds (storage/identity.ts) before findStoredEvents in collector/funnel/record-server-events.ts.
  test('one is stored; the other is answered as its duplicate and neither its email nor its device identification is applied', async () => {
    const j = await open();
    await j.visit('v_race_dev0', [{ path: '/' }], T0);
    j.clock.now = T0 + HOUR;
    for (let round = 0; round < 6; round++) {
      const id = `race-${round}`;
      const bodies = [
        { id, visitorId: 'v_race_dev0', email: `p${round}@papa.test`, name: 'demo_completed' },
        { id, visitorId: 'v_race_dev0', email: `q${round}@quebec.test`, name: 'demo_completed' },
      ];
      const answers = await Promise.all(bodies.map(async (b) => {
        const res = await j.serverEvents(b);
        expect(res.status).toBe(202);
        return res.json();
      }));
      const stored = await j.db.all<{ lead_id: string }>('SELECT lead_id FROM events WHERE site_id = ? AND event_id = ?', [j.site.siteId, 'srv:' + id]);
      expect(stored).toHaveLength(1);
      const winner = answers.findIndex((a) => a.accepted === 1);
      expect(winner, JSON.stringify(answers)).toBeGreaterThanOrEqual(0);
      const loser = answers[1 - winner];
      expect(loser, `round ${round}`).toMatchObject({ accepted: 0, duplicates: 1, events: [{ id, duplicate: true, leadId: stored[0].lead_id }] });
      // the loser's email names no lead; the device is the winner's person
      const loserEmail = bodies[1 - winner].email;
      expect((await j.app.request('/api/leads/' + loserEmail, { headers: j.auth })).status, `round ${round}: ${loserEmail}`).toBe(404);
      expect((await profile(j, 'v_race_dev0')).email).toBe(bodies[winner].email);
    }
  });
});

describe('a device named as two people at once (the form\'s beacon and the CRM\'s call racing)', () => {
  // The hidden-field flow: the visitor sends a form with one address while the CRM, matching the submission to a
  // contact it knows under another address, posts an event naming the same device. Whichever is applied first claims
  // the anonymous lead; the other switches the device (README: two identified leads are never merged silently). Each
  // event stays with the person its email names. Found by this judge on PostgreSQL (SQLite has one writer): both
  // requests decided on the same anonymous lead. With both emails new, the one whose claim lost took the lead as still
  // anonymous and stored its event under the other person's lead, with no lead of its own; with the CRM's email a lead
  // already, its merge and the beacon's claim deadlocked (the beacon holds the device's row from ingest, the merge
  // the lead's), and the form's event stayed unattributed, no lead for its address. The fix locks the named devices'
  // rows first (lockVisitors, storage/identity.ts) in collector/funnel/record-server-events.ts.
  test('each event lands on its own email\'s lead, and the two leads stay two', async () => {
    const j = await open();
    for (let round = 0; round < 6; round++) {
      const v = `v_twice_${round}`;
      const at = T0 + round * HOUR;
      await j.visit(v, [{ path: '/pricing' }], at);
      j.clock.now = at + 10 * MIN;
      const p = `pat${round}@papa.test`;
      const q = `quinn${round}@quebec.test`;
      // in odd rounds the CRM's contact is a lead already
      if (round % 2) await postEvents(j, { id: `known-${round}`, email: q, name: 'contact_created', at: iso(at) });
      await Promise.all([
        j.visit(v, [{ n: 'form_submit', f: 'other', path: '/contact', em: p }], at + 5 * MIN),
        Promise.resolve(j.serverEvents({ id: `twice-${round}`, visitorId: v, email: q, name: 'opportunity_created', at: iso(at + 6 * MIN) })).then((r) => expect(r.status).toBe(202)),
      ]);
      const pat = await profile(j, p);
      const quinn = await profile(j, q);
      expect(pat.leadId, `round ${round}`).not.toBe(quinn.leadId);
      const rows = await j.db.all<{ name: string; lead_id: string }>('SELECT name, lead_id FROM events WHERE site_id = ? AND visitor_id = ? ORDER BY at', [j.site.siteId, v]);
      const who = (id: string) => (id === pat.leadId ? 'pat' : id === quinn.leadId ? 'quinn' : id);
      expect(rows.map((r) => `${r.name}:${who(r.lead_id)}`), `round ${round}`).toEqual(expect.arrayContaining(['form_submit:pat', 'opportunity_created:quinn']));
      // the device has one link in effect, to one of the two
      const inEffect = await j.db.all<{ lead_id: string }>('SELECT lead_id FROM identity_links WHERE site_id = ? AND visitor_id = ? AND to_at IS NULL', [j.site.siteId, v]);
      expect(inEffect.map((l) => who(l.lead_id)), `round ${round}`).toEqual([expect.stringMatching(/^(pat|quinn)$/)]);
    }
  });
});
