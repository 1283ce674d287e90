// Black-box journeys 5 (the harness of black-box-journeys.test.ts: the collector as its own process, the admin CLI,
// the tester's pages, Chromium as the contract launches it, CRM events by POST /api/events, everything read back
// through the HTTP API), under the default rules: an email tool's opt-out told for an anonymous phone by its visitor id,
// the phone then books a demo as a known lead (the lead is opted out and leaves the platform exports: README "Audience
// exports"); a laptop that changes hands in the middle of a visit, opted out by visitor id for each person's period.
// Expected values are worked out by hand from the default rules, never read from the code's output.
import { describe, expect, test } from 'vitest';
import { bb, useBlackBox, api, profile, timeline, events, waitForLead, postEvents, device, open, follow, leave, visitorIdOf, PHONE_UA } from './black-box-harness.js';

useBlackBox('funnelbeam-blackbox-journeys5-');

/** data rows of the Google Customer Match export of a segment */
async function googleRows(key: string): Promise<string[]> {
  const r = await api(`/api/segments/${key}/members?format=google`, bb.keys.audiences);
  expect(r.status).toBe(200);
  return String(r.body).trim().split('\n').slice(1);
}

describe('black-box journeys 5: opt-outs told by visitor id, across devices and people', () => {
  test('an anonymous phone unsubscribed by the email tool books a demo as a known lead: the lead is opted out and leaves the exports', async () => {
    const seg = await api('/api/segments/known_people', bb.keys.admin, { method: 'PUT', body: JSON.stringify({ definition: { identified: true } }) });
    expect(seg.status).toBeLessThan(300);
    // the laptop: the newsletter form as Pia: visit +2, newsletter_signup +10 → 12, interest
    const laptop = await device();
    let tab = await open(laptop, '/newsletter');
    await tab.fill('input[type=email]', 'pia@papa.test');
    await follow(tab, '#join', '/thanks');
    let pia = await waitForLead('pia@papa.test', (l) => l.stage === 'interest');
    expect(pia.score).toBeCloseTo(12, 2);
    await leave(laptop, tab);
    expect(await googleRows('known_people')).toHaveLength(1);

    // the phone, anonymous: pricing (visit +2, pricing_view +10: its own lead, consideration, 12)
    const phone = await device(PHONE_UA);
    tab = await open(phone, '/pricing');
    const phoneVisitor = await visitorIdOf(tab);
    const anon = await waitForLead(phoneVisitor, (l) => l.stage === 'consideration');
    expect(anon.email).toBeNull();
    // the email tool knows the phone by the visitor id it put in a link, and reports an unsubscribe for it
    await postEvents({ visitorId: phoneVisitor, name: 'unsubscribed' });
    await expect.poll(async () => (await api(`/api/leads/${phoneVisitor}`, bb.keys.leads)).body.optedOut, { timeout: 10_000 }).toBe(true);

    // the phone books a demo as Pia: it joins her. On her: the phone's visit (visit +2 → 14, return_visit +5 → 19: a
    // second visit of hers), pricing_view +10 → 29 (pricing in one visit only: consideration), demo_request +30 → 59:
    // evaluation, MQL, SQL. Her only opt event, moved with the phone, is the unsubscribe: opted out
    await follow(tab, '#demo', '/demo');
    await tab.fill('input[name=name]', 'Pia');
    await tab.fill('input[type=email]', 'pia@papa.test');
    await follow(tab, '#book', '/thanks');
    pia = await waitForLead('pia@papa.test', (l) => l.stage === 'evaluation' && l.visitorIds.length === 2);
    expect(pia).toMatchObject({ mql: true, sql: true });
    expect(pia.score).toBeCloseTo(59, 2);
    expect((await api(`/api/leads/pia@papa.test`, bb.keys.leads)).body.optedOut).toBe(true);
    expect(events(await timeline(pia.leadId)).filter((i) => i.name === 'unsubscribed').map((i) => i.visitorId)).toEqual([phoneVisitor]);
    // she is still a member of the segment (the JSON list), but no platform export holds her
    expect((await api('/api/segments/known_people/members?format=json', bb.keys.audiences)).body.count).toBe(1);
    expect(await googleRows('known_people')).toEqual([]);
    await tab.close();
  });

  test('a laptop that changes hands in the middle of a visit: an opt-out by its visitor id goes to the person who had it then', async () => {
    const laptop = await device();
    // Rob identifies with the contact form (no marker, on /contact: intent); Sue, at the same laptop a moment later,
    // signs up to the newsletter with her email: the laptop switches to her, nothing of Rob moves
    const tab = await open(laptop, '/contact');
    const laptopVisitor = await visitorIdOf(tab);
    await tab.fill('input[type=email]', 'rob@romeo.test');
    await follow(tab, '#send', '/thanks');
    await waitForLead('rob@romeo.test', (l) => l.stage === 'intent');
    await follow(tab, '#news', '/newsletter');
    await tab.fill('input[type=email]', 'sue@sierra.test');
    await follow(tab, '#join', '/thanks');
    const sue = await waitForLead('sue@sierra.test', (l) => l.stage === 'interest');
    expect(sue.visitorIds).toEqual([laptopVisitor]);
    // the switch, as Sue's timeline shows it: her link of the laptop begins at her signup
    const sueItems = await timeline(sue.leadId);
    const link = sueItems.find((i) => i.kind === 'identity' && i.name === 'identity_linked' && i.visitorId === laptopVisitor);
    expect(link).toBeDefined();
    const switchedAt = Date.parse(link!.at);
    // Rob's timeline has none of Sue's events
    const rob = (await profile('rob@romeo.test'))!;
    expect(events(await timeline(rob.leadId)).some((i) => i.name === 'newsletter_signup')).toBe(false);
    // an unsubscribe for the laptop dated a moment before the switch is Rob's; one dated after is Sue's
    await postEvents({ visitorId: laptopVisitor, name: 'unsubscribed', at: new Date(switchedAt - 1).toISOString() });
    await expect.poll(async () => (await api('/api/leads/rob@romeo.test', bb.keys.leads)).body.optedOut, { timeout: 10_000 }).toBe(true);
    expect((await api('/api/leads/sue@sierra.test', bb.keys.leads)).body.optedOut).toBe(false);
    await postEvents({ visitorId: laptopVisitor, name: 'unsubscribed', at: new Date(switchedAt + 1).toISOString() });
    await expect.poll(async () => (await api('/api/leads/sue@sierra.test', bb.keys.leads)).body.optedOut, { timeout: 10_000 }).toBe(true);
    await tab.close();
  });
});
