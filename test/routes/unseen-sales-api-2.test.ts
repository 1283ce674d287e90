// The sales side judged from the outside (contract §5–§6, README "HTTP API" row of POST /api/events, "Funnel engine",
// "Webhooks"), on what earlier judge files leave out: a CRM backfill of 1,000 events in random order with every `at`
// format against the same events sent in time order, its retry; events of one millisecond ordered by client `id`; the
// stage.changed a server event queues, as a CRM integrator reads it; the 1 MiB body ceiling at its exact edge; and a
// key with `events:write` alone.
import { describe, expect, test } from 'vitest';
import { createKey } from '../../collector/admin.js';
import { DAY, HOUR, MIN, T0 } from '../helpers/funnel-factories.js';
import { get, iso, postEvents as post, profile, timeline, useJourneys, type Journey } from '../helpers/journey-api.js';

const { open } = useJourneys();

type Item = Record<string, any>;
const stageItems = async (j: Journey, ref: string) =>
  (await timeline(j, ref, 'types=stage&limit=500')).items.map((i: Item) => ({ from: i.from, to: i.to, at: i.at, rule: i.rule }));

const hook = async (j: Journey, id: string, events: string[]) => {
  const res = await j.app.request(`/api/webhooks/${id}`, { method: 'PUT', headers: j.auth, body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', events }) });
  expect(res.status, await res.clone().text()).toBe(201);
};
/** the `data` of every queued stage.changed, in the order queued (delivery ids are time-ordered) */
const stageDeliveries = async (j: Journey) =>
  (await j.db.all<{ payload: string }>("SELECT payload FROM webhook_deliveries WHERE event_type = 'stage.changed' ORDER BY delivery_id")).map((r) => JSON.parse(r.payload).data as Item);

/** `ms` written as a CRM might: ISO Z, an offset with and without its colon, `+0000`, epoch ms as number or digits. */
function formatAt(ms: number, k: number): string | number {
  const local = (offMin: number) => new Date(ms + offMin * MIN).toISOString().slice(0, 19);
  switch (k % 6) {
    case 0: return iso(ms);
    case 1: return `${local(120)}+02:00`;
    case 2: return `${local(-330)}-0530`;
    case 3: return `${local(0)}.000+0000`;
    case 4: return ms;
    default: return String(ms);
  }
}

describe('a CRM backfill of 1,000 events in one array', () => {
  test('sent in random order with mixed at formats, it gives the stage history, score and profile of the same events sent in time order; the retry is 1,000 duplicates', async () => {
    const NOW = T0 + 400 * DAY;
    const email = 'backfill@crm.test';
    // 1,000 events, a minute apart from T0 + 10 days on (whole seconds, so every format can carry them)
    const start = T0 + 10 * DAY;
    const special: Record<number, string> = { 100: 'newsletter_signup', 300: 'trial_signup', 600: 'demo_completed', 601: 'proposal_sent', 900: 'closed_won' };
    const inOrder = Array.from({ length: 1000 }, (_, i) => ({ id: `bf-${String(i).padStart(4, '0')}`, ms: start + i * MIN, name: special[i] ?? 'crm_note' }));
    // the first event is at a midnight, written as a date alone
    inOrder[0].ms = Date.UTC(2025, 0, 16);
    expect(inOrder[0].ms).toBeLessThan(inOrder[1].ms);
    const body = (list: typeof inOrder) => list.map((e, k) => ({ id: e.id, email, name: e.name, at: e.id === 'bf-0000' ? '2025-01-16' : formatAt(e.ms, k) }));
    // a fixed shuffle (a linear congruential generator), so the test is deterministic
    const shuffled = [...inOrder];
    let seed = 12345;
    for (let i = shuffled.length - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const k = seed % (i + 1);
      [shuffled[i], shuffled[k]] = [shuffled[k], shuffled[i]];
    }

    const ordered = await open();
    ordered.clock.now = NOW;
    const a = await post(ordered, body(inOrder));
    expect([a.accepted, a.duplicates, a.rejected]).toEqual([1000, 0, undefined]);

    const mixed = await open();
    mixed.clock.now = NOW;
    await hook(mixed, 'crm', ['stage.changed', 'lead.mql']);
    const b = await post(mixed, body(shuffled));
    expect([b.accepted, b.duplicates, b.rejected], JSON.stringify(b.rejected?.slice(0, 3))).toEqual([1000, 0, undefined]);
    expect(b.events.map((e: Item) => e.index)).toEqual(shuffled.map((_, i) => i));

    // by hand, from the default rules: awareness at the first event, interest at the newsletter signup, intent at the
    // trial signup, evaluation at the completed demo (the proposal a minute later moves nothing), purchase at the win
    const at = (i: number) => iso(inOrder[i].ms);
    const expected = [
      { from: 'evaluation', to: 'purchase', at: at(900), rule: 'closed_won' },
      { from: 'intent', to: 'evaluation', at: at(600), rule: 'demo_completed' },
      { from: 'interest', to: 'intent', at: at(300), rule: 'sales_form_event' },
      { from: 'awareness', to: 'interest', at: at(100), rule: 'newsletter_signup' },
      { from: null, to: 'awareness', at: at(0), rule: 'any_visit' },
    ];
    expect(await stageItems(ordered, email)).toEqual(expected);
    expect(await stageItems(mixed, email)).toEqual(expected);

    const pick = (p: Item) => ({ stage: p.stage, stageEnteredAt: p.stageEnteredAt, createdAt: p.createdAt, score: p.score, mql: p.mql, mqlAt: p.mqlAt, sql: p.sql });
    const pm = await profile(mixed, email);
    expect(pm).toMatchObject({ stage: 'purchase', stageEnteredAt: at(900), createdAt: at(0) });
    expect(pick(pm)).toEqual(pick(await profile(ordered, email)));
    // the score items explain the same score in both, award by award
    const scores = async (j: Journey) =>
      (await timeline(j, email, 'types=score&limit=500')).items.map((i: Item) => [i.at, i.rule, i.points, i.scoreAfter]);
    expect(await scores(mixed)).toEqual(await scores(ordered));

    // the CRM hears each stage once, as entered in time order: no purchase first, no stage entered and then removed
    const chain = [null, 'awareness', 'interest', 'intent', 'evaluation', 'purchase'];
    const heard = (await stageDeliveries(mixed)).map((d) => [d.from, d.to, d.at]);
    expect(heard).toEqual([...expected].reverse().map((e, i) => [chain[i], chain[i + 1], e.at]));

    // one lead.mql, at the crossing worked by hand (threshold 50, half-life 90 days): 10 (newsletter) + 20 (trial
    // signup) + 20 (demo) decayed stay under 50 at the demo; the proposal's 10 a minute later crosses it
    const decay = (minutes: number) => 2 ** (-minutes / (90 * 24 * 60));
    const crossing = 10 * decay(501) + 20 * decay(301) + 20 * decay(1) + 10;
    expect(10 * decay(500) + 20 * decay(300) + 20).toBeLessThan(50);
    const mql = (await mixed.db.all<{ payload: string }>("SELECT payload FROM webhook_deliveries WHERE event_type = 'lead.mql'")).map((r) => JSON.parse(r.payload).data);
    const proposal = (await timeline(mixed, email, 'types=proposal_sent')).items[0];
    expect(mql).toHaveLength(1);
    expect(mql[0]).toMatchObject({ email, threshold: 50, at: at(601), eventId: proposal.id });
    expect(mql[0].score).toBeCloseTo(crossing, 3);
    expect(pm.mqlAt).toBe(at(601));

    // the same array retried, as a CRM does after a timeout: nothing new, every item answered a duplicate at its index
    const again = await post(mixed, body(shuffled));
    expect([again.accepted, again.duplicates, again.rejected]).toEqual([0, 1000, undefined]);
    expect(again.events.every((e: Item, i: number) => e.index === i && e.duplicate === true && e.id === b.events[i].id)).toBe(true);
    expect(await stageItems(mixed, email)).toEqual(expected);
    expect((await stageDeliveries(mixed)).length).toBe(5);
    const events = (await timeline(mixed, email, 'types=event&limit=500')).items;
    expect(events.length).toBe(500);
  }, 60_000);

  test('three bad items at known indexes of a 1,000-item backfill: listed by index and kept in the rejected store; the 997 others stored', async () => {
    const j = await open();
    j.clock.now = T0 + 30 * DAY;
    const email = 'three-bad@crm.test';
    const list: Item[] = Array.from({ length: 1000 }, (_, i) => ({ id: `tb-${i}`, email, name: 'crm_note', at: T0 + i * MIN }));
    list[17] = { id: 'tb-17', email, name: 'crm_note', at: j.clock.now + DAY }; // a future at
    list[512] = { id: 'tb-512', leadId: 'l_no_such_lead', name: 'crm_note', at: T0 }; // an unknown lead
    list[999] = { id: 'tb-999', email, name: 'bad,name', at: T0 }; // a comma in the name
    const r = await post(j, list);
    expect([r.accepted, r.duplicates]).toEqual([997, 0]);
    expect(r.rejected.map((x: Item) => [x.index, x.id, x.code])).toEqual([
      [17, 'tb-17', 'invalid_event'],
      [512, 'tb-512', 'unknown_lead'],
      [999, 'tb-999', 'invalid_event'],
    ]);
    expect(r.events.length).toBe(997);
    expect(r.events.map((e: Item) => e.index).filter((i: number) => [17, 512, 999].includes(i))).toEqual([]);
    const stored = await get(j, '/api/rejected?limit=500');
    expect(stored.items.length).toBe(3);
    // the page of 500 events plus the next page holds 997 events of the lead
    const first = await timeline(j, email, 'types=event&limit=500');
    const second = await timeline(j, email, `types=event&limit=500&cursor=${encodeURIComponent(first.nextCursor!)}`);
    expect(first.items.length + second.items.length).toBe(997);
  }, 30_000);
});

describe('events of one millisecond (README: with client ids, applied in id order)', () => {
  // Stages only move forward: a win applied first leaves no room for the demo after it, a demo applied first is
  // entered before the win.
  test('demo id a, win id b, sent win first: the demo is applied first, so evaluation is entered, then purchase', async () => {
    const j = await open();
    j.clock.now = T0 + DAY;
    const email = 'same-ms-1@crm.test';
    await post(j, [
      { id: 'crm-b', email, name: 'closed_won', at: iso(T0) },
      { id: 'crm-a', email, name: 'demo_completed', at: iso(T0) },
    ]);
    expect(await stageItems(j, email)).toEqual([
      { from: 'evaluation', to: 'purchase', at: iso(T0), rule: 'closed_won' },
      { from: 'awareness', to: 'evaluation', at: iso(T0), rule: 'demo_completed' },
      { from: null, to: 'awareness', at: iso(T0), rule: 'any_visit' },
    ]);
  });

  test('win id 1, demo id 2, sent demo first: the win is applied first and the demo moves nothing', async () => {
    const j = await open();
    j.clock.now = T0 + DAY;
    const email = 'same-ms-2@crm.test';
    await post(j, [
      { id: 'crm-2', email, name: 'demo_completed', at: iso(T0) },
      { id: 'crm-1', email, name: 'closed_won', at: iso(T0) },
    ]);
    expect(await stageItems(j, email)).toEqual([
      { from: 'awareness', to: 'purchase', at: iso(T0), rule: 'closed_won' },
      { from: null, to: 'awareness', at: iso(T0), rule: 'any_visit' },
    ]);
  });

  test('without ids, in the order sent, also across two requests of the same at', async () => {
    const j = await open();
    j.clock.now = T0 + DAY;
    const email = 'same-ms-3@crm.test';
    await post(j, { email, name: 'closed_won', at: T0 });
    await post(j, { email, name: 'demo_completed', at: String(T0) });
    expect((await stageItems(j, email)).map((s) => s.to)).toEqual(['purchase', 'awareness']);
    expect((await profile(j, email)).stage).toBe('purchase');
  });
});

describe('the stage.changed a server event queues, as a CRM integrator reads it', () => {
  test('names the lead, the email, the move, the at sent, the rule and the event the timeline shows', async () => {
    const j = await open();
    j.clock.now = T0 + DAY;
    await hook(j, 'crm', ['stage.changed']);
    const r = await post(j, [
      { id: 'opp-7-demo', email: 'Deal@Crm.test', name: 'demo_completed', at: '2025-01-06T10:00:00+0100' },
      { id: 'opp-7-won', email: 'deal@crm.test', name: 'closed_won', at: T0 + 2 * HOUR },
    ]);
    const leadId = r.events[0].leadId;
    const events = (await timeline(j, leadId, 'types=event')).items;
    const demo = events.find((e: Item) => e.name === 'demo_completed')!.id;
    const won = events.find((e: Item) => e.name === 'closed_won')!.id;
    expect(await stageDeliveries(j)).toEqual([
      { leadId, email: 'deal@crm.test', from: null, to: 'awareness', at: iso(T0), eventId: demo, rule: 'any_visit' },
      { leadId, email: 'deal@crm.test', from: 'awareness', to: 'evaluation', at: iso(T0), eventId: demo, rule: 'demo_completed' },
      { leadId, email: 'deal@crm.test', from: 'evaluation', to: 'purchase', at: iso(T0 + 2 * HOUR), eventId: won, rule: 'closed_won' },
    ]);
  });

  // The POST answer's `events[].id` is the `id` the CRM sent (or one made for it), while the timeline's event `id`, the
  // `eventId` of stage and score items and of every webhook is that id behind `srv:` (`srv:opp-7-won`). Nothing in
  // the README or /openapi.json says so: an integrator who keys deliveries by the id it sent matches none of them.
  // Pinned here on the README sentence proposed in the sales-r2 report (the code is consistent; the text is missing).
  test('the eventId a delivery names is srv: + the id the POST answer lists, for a CRM id and for one made for it', async () => {
    const j = await open();
    j.clock.now = T0 + DAY;
    await hook(j, 'crm', ['stage.changed']);
    const r = await post(j, [
      { id: 'opp-8-won', email: 'deal8@crm.test', name: 'closed_won', at: T0 },
      { email: 'deal9@crm.test', name: 'closed_won', at: T0 },
    ]);
    const byLead = new Map((await stageDeliveries(j)).filter((d) => d.to === 'purchase').map((d) => [d.leadId, d.eventId]));
    expect(r.events.map((e: Item) => byLead.get(e.leadId))).toEqual(r.events.map((e: Item) => `srv:${e.id}`));
    expect(r.events[0].id).toBe('opp-8-won');
  });
});

describe('the 1 MiB ceiling of POST /api/events', () => {
  /** 1,000 valid events (props of 500 characters, the last one padded) whose JSON is exactly `bytes` long */
  const exactly = (bytes: number) => {
    const list = Array.from({ length: 1000 }, (_, i) => ({ id: `big-${i}`, email: 'big@crm.test', name: 'crm_note', props: { a: 'x'.repeat(500), b: 'y'.repeat(450), c: '' } }));
    let missing = bytes - Buffer.byteLength(JSON.stringify(list));
    expect(missing).toBeGreaterThan(0);
    for (let i = 999; missing > 0; i--) {
      const n = Math.min(missing, 500);
      list[i].props.c = 'z'.repeat(n);
      missing -= n;
    }
    const body = JSON.stringify(list);
    expect(Buffer.byteLength(body)).toBe(bytes);
    return body;
  };
  const send = (j: Journey, body: string) => j.app.request('/api/events', { method: 'POST', headers: j.auth, body });

  test('1,000 events of exactly 1 MiB are all stored; one byte more is a 413 in the error shape, kept in the rejected store, nothing stored', async () => {
    const j = await open();
    const over = await send(j, exactly(1024 * 1024 + 1));
    expect(over.status).toBe(413);
    const err = (await over.json()).error;
    expect(err.code).toBe('payload_too_large');
    expect((await get(j, '/api/rejected?limit=10')).items.map((i: Item) => i.reason)).toEqual(['payload_too_large']);
    expect((await j.app.request('/api/leads/big%40crm.test', { headers: j.auth })).status).toBe(404);
    const at = await send(j, exactly(1024 * 1024));
    const answer = await at.json();
    expect(at.status, JSON.stringify(answer).slice(0, 300)).toBe(202);
    expect([answer.accepted, answer.rejected]).toEqual([1000, undefined]);
  });
});

describe('a key with events:write alone, as a CRM connector is given', () => {
  test('it posts events; a lead read with it is a 403 naming leads:read, kept as the site\'s in the rejected store', async () => {
    const j = await open();
    const writer = (await createKey(j.db, j.site.siteId, ['events:write'], j.clock.now)).secret;
    const auth = { authorization: `Bearer ${writer}`, 'content-type': 'application/json' };
    const res = await j.app.request('/api/events', { method: 'POST', headers: auth, body: JSON.stringify({ email: 'conn@crm.test', name: 'crm_sync' }) });
    expect(res.status).toBe(202);
    for (const path of ['/api/leads/conn%40crm.test', '/api/leads/conn%40crm.test/timeline', '/api/leads']) {
      const read = await j.app.request(path, { headers: auth });
      expect(read.status, path).toBe(403);
      expect(read.headers.get('www-authenticate') ?? '', path).toContain('leads:read');
    }
    // nor can it erase a lead or point the webhooks elsewhere: those need admin
    const erase = await j.app.request('/api/leads/conn%40crm.test', { method: 'DELETE', headers: auth });
    const repoint = await j.app.request('/api/webhooks/crm', { method: 'PUT', headers: auth, body: JSON.stringify({ url: 'http://127.0.0.1:9/x', events: ['stage.changed'] }) });
    for (const res of [erase, repoint]) {
      expect(res.status).toBe(403);
      expect(res.headers.get('www-authenticate') ?? '').toContain('admin');
    }
    const rejected = await get(j, '/api/rejected?limit=10');
    expect(rejected.items.length).toBe(5);
    expect((await profile(j, 'conn@crm.test')).email).toBe('conn@crm.test');
    expect((await get(j, '/api/webhooks')).webhooks).toEqual([]);
  });
});

describe('a CRM import of many people in one array', () => {
  test('1,000 items for 500 emails, each written once in capitals: 500 leads, each with both events, all listed once by order=id', async () => {
    const j = await open();
    j.clock.now = T0 + DAY;
    const list = Array.from({ length: 500 }, (_, i) => [
      { email: `person${i}@import.test`, name: 'crm_sync', at: T0 + i },
      { email: ` PERSON${i}@Import.TEST `, name: 'crm_note', at: T0 + i + 1 },
    ]).flat();
    const r = await post(j, list);
    expect([r.accepted, r.duplicates, r.rejected]).toEqual([1000, 0, undefined]);
    for (let i = 0; i < 500; i++) expect(r.events[2 * i].leadId).toBe(r.events[2 * i + 1].leadId);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await get(j, `/api/leads?order=id&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      seen.push(...page.items.map((l: Item) => l.leadId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.length).toBe(500);
    expect(new Set(seen)).toEqual(new Set(r.events.map((e: Item) => e.leadId)));
    const one = (await timeline(j, 'person321@import.test', 'types=event')).items.map((e: Item) => [e.name, e.at]);
    expect(one).toEqual([['crm_note', iso(T0 + 322)], ['crm_sync', iso(T0 + 321)]]);
  }, 30_000);
});

describe('traits from the CRM', () => {
  // README "Audience exports" decides opt-outs by `at`, whatever order they arrive in; traits are the same CRM data:
  // a backfilled older record must not overwrite the newer one it arrives after.
  test('a trait sent with an older at, arriving later, does not replace the newer value; a key it alone has is added', async () => {
    const j = await open();
    j.clock.now = T0 + 10 * DAY;
    const email = 'traits@crm.test';
    await post(j, { email, name: 'crm_sync', at: iso(T0 + 2 * DAY), traits: { company: 'Acme 2025', city: 'Berlin' } });
    await post(j, { email, name: 'crm_sync', at: iso(T0 + DAY), traits: { company: 'Acme 2024', jobTitle: 'CTO' } });
    expect((await profile(j, email)).traits).toMatchObject({ company: 'Acme 2025', city: 'Berlin', jobTitle: 'CTO' });
    await post(j, { email, name: 'crm_sync', at: iso(T0 + 3 * DAY), traits: { company: 'Acme 2026' } });
    expect((await profile(j, email)).traits).toMatchObject({ company: 'Acme 2026', city: 'Berlin', jobTitle: 'CTO' });
  });
});

describe('a CRM clock a little ahead of the collector', () => {
  // README: "a future `at`" is refused. The collector allows 5 minutes of clock skew (LIMITS.futureSkewMs) before it
  // calls a time future, which the README does not say; pinned on the sentence proposed in the sales-r2 report.
  test('an at up to 5 minutes ahead is stored at that time; one millisecond more is refused alone, by its index', async () => {
    const j = await open();
    j.clock.now = T0;
    const r = await post(j, [
      { id: 'skew-ok', email: 'skew@crm.test', name: 'crm_sync', at: T0 + 5 * MIN },
      { id: 'skew-no', email: 'skew@crm.test', name: 'crm_sync', at: T0 + 5 * MIN + 1 },
    ]);
    expect(r.events.map((e: Item) => e.index)).toEqual([0]);
    expect(r.rejected.map((e: Item) => [e.index, e.code])).toEqual([[1, 'invalid_event']]);
    expect((await timeline(j, 'skew@crm.test', 'types=event')).items.map((e: Item) => e.at)).toEqual([iso(T0 + 5 * MIN)]);
  });
});

describe('ids of CRM events', () => {
  test('an id repeated in one array: the first item by index is stored, though the repeat is dated earlier; the repeat changes nothing', async () => {
    const j = await open();
    j.clock.now = T0 + 2 * DAY;
    const email = 'repeat@crm.test';
    const r = await post(j, [
      { id: 'opp-x', email, name: 'closed_won', at: T0 + DAY },
      { id: 'opp-x', email, name: 'demo_completed', at: T0 },
    ]);
    expect(r.events.map((e: Item) => [e.index, e.duplicate])).toEqual([[0, false], [1, true]]);
    expect(r.events[1].leadId).toBe(r.events[0].leadId);
    expect((await timeline(j, email, 'types=event')).items.map((e: Item) => [e.name, e.at])).toEqual([['closed_won', iso(T0 + DAY)]]);
    expect(await stageItems(j, email)).toEqual([
      { from: 'awareness', to: 'purchase', at: iso(T0 + DAY), rule: 'closed_won' },
      { from: null, to: 'awareness', at: iso(T0 + DAY), rule: 'any_visit' },
    ]);
    expect((await profile(j, email)).createdAt).toBe(iso(T0 + DAY));
  });

  // The README names `id?` and nothing of its form. The collector takes 1–64 characters of letters, digits and
  // `_ . : @ -`, and refuses the event otherwise (a HubSpot deal id sent as a number, a path-like id). Pinned on the
  // sentence proposed in the sales-r2 report.
  test('an id that is a number, holds a / or a space, or is over 64 characters refuses its event alone, naming id', async () => {
    const j = await open();
    j.clock.now = T0 + DAY;
    const email = 'ids@crm.test';
    const r = await post(j, [
      { id: 12345, email, name: 'crm_note', at: T0 },
      { id: 'opp/2025/7', email, name: 'crm_note', at: T0 },
      { id: 'opp 7', email, name: 'crm_note', at: T0 },
      { id: 'x'.repeat(65), email, name: 'crm_note', at: T0 },
      { id: 'x'.repeat(64), email, name: 'crm_note', at: T0 },
      { id: 'A_b.c:d@e-9', email, name: 'crm_note', at: T0 },
    ]);
    expect(r.events.map((e: Item) => [e.index, e.id])).toEqual([[4, 'x'.repeat(64)], [5, 'A_b.c:d@e-9']]);
    expect(r.rejected.map((e: Item) => e.index)).toEqual([0, 1, 2, 3]);
    for (const e of r.rejected) expect(e.message).toMatch(/^\d+\.id: /);
  });
});

describe('an offset of hours alone, as PostgreSQL writes a timestamptz', () => {
  // README: `at` is "ISO 8601 with Z or an offset". ISO 8601 writes an offset as ±hh:mm, ±hhmm or ±hh; PostgreSQL's text
  // output of a timestamptz is `2025-01-07 09:30:00+01` (a space for the T, which the collector takes, and hours
  // alone). A CRM backfill exported from its database is refused event by event (`at: Invalid ISO datetime`).
  // Fix: collector/funnel/server-event-input.ts, normalizeTime: give an offset of hours alone its `:00`.
  test('`2025-01-07 09:30:00+01`, `…T09:30:00.123456+01` and `…T03:30:00-05` are stored at their instants', async () => {
    const j = await open();
    j.clock.now = T0 + 10 * DAY;
    const email = 'pg@crm.test';
    const forms: Array<[string, string]> = [
      ['2025-01-07 09:30:00+01', '2025-01-07T08:30:00.000Z'],
      ['2025-01-07T09:30:00.123456+01', '2025-01-07T08:30:00.123Z'],
      ['2025-01-07T03:30:00-05', '2025-01-07T08:30:00.000Z'],
    ];
    const r = await post(j, forms.map(([at], i) => ({ id: `pg-${i}`, email, name: `pg_${i}`, at })));
    expect(r.rejected, JSON.stringify(r.rejected)).toBeUndefined();
    const items = (await timeline(j, email, 'types=event')).items;
    for (const [i, [at, want]] of forms.entries()) expect(items.find((e: Item) => e.name === `pg_${i}`)?.at, at).toBe(want);
  });
});
