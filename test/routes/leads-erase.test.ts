import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { CreatedApp } from '../../collector/app.js';
import type { Db } from '../../collector/storage/db.js';
import { getSegment } from '../../collector/storage/segments.js';
import { ENGINES } from '../helpers/test-db.js';
import { closeLeadApp, openLeadApp, type LeadApp } from '../leads/lead-app.js';
import {
  DAY, T0, makeEvent, makeLead, makeLeadOnTwoDevices, makeLink, makeRejected, makeVisitor, makeWebhookDelivery,
} from '../leads/lead-factories.js';

let db: Db;
let created: CreatedApp;
let site: LeadApp['site'];

describe.each(ENGINES)('on %s', (engine) => {
  beforeEach(async () => {
    ({ db, created, site } = await openLeadApp(engine, T0 + 10 * DAY));
  });
  afterEach(() => closeLeadApp({ db, created, site }));

  const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
  const erase = (ref: string, auth = site.admin) =>
    created.app.request(`/api/leads/${encodeURIComponent(ref)}`, { method: 'DELETE', headers: { authorization: auth } });

  /** Every row of every table, as text, with the table it came from. */
  async function everyRow(): Promise<Array<{ table: string; text: string }>> {
    const tables = await db.all<{ name: string }>(
      db.dialect === 'pg'
        ? "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        : "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    );
    const out: Array<{ table: string; text: string }> = [];
    for (const { name } of tables) {
      for (const row of await db.all(`SELECT * FROM "${name}"`)) out.push({ table: name, text: JSON.stringify(row) });
    }
    return out;
  }

  describe('DELETE /api/leads/{ref}', () => {
    test('erases every row of the lead: afterwards no table holds its email, ids, visitor ids or their SHA-256', async () => {
      const lead = await makeLeadOnTwoDevices(db, site.siteId);
      const bystander = await makeLeadOnTwoDevices(db, site.siteId, 'grace@example.com');
      await makeWebhookDelivery(db, site.siteId, { type: 'stage.changed', data: { leadId: lead.leadId, email: lead.email, to: 'evaluation' } });
      await makeWebhookDelivery(db, site.siteId, { type: 'stage.changed', data: { leadId: bystander.leadId, to: 'evaluation' } });
      await makeRejected(db, site.siteId, JSON.stringify({ s: site.siteKey, v: lead.phone, e: [{ n: 'x', em: lead.email }] }));
      await makeRejected(db, '', JSON.stringify({ s: 'pk_unknown', e: [{ em: lead.email }] }));
      await makeRejected(db, site.siteId, JSON.stringify({ hashed: sha256(lead.email) }));
      await makeRejected(db, site.siteId, JSON.stringify({ v: bystander.phone }));
      // attribution failed for this identify (replay pending): the event has the email but no lead yet
      await makeEvent(db, site.siteId, { visitorId: 'v_orphan', leadId: null, at: T0 + 5 * DAY, name: 'identify', email: lead.email });
      const before = await everyRow();

      const res = await erase('Ada@Example.com');
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.leadId).toBe(lead.leadId);
      expect(body.erased).toMatchObject({
        events: 6, visitors: 2, identityLinks: 2, stageChanges: 3, scoreChanges: 3, segmentMembers: 1, segmentChanges: 1,
        webhookDeliveries: 1, rejectedEvents: 3, leads: 1,
      });

      const needles = [lead.email, lead.leadId, lead.phone, lead.laptop].flatMap((s) => [s, sha256(s)]);
      const after = await everyRow();
      for (const { table, text } of after) {
        for (const n of needles) expect(text.includes(n), `${table} still holds ${n}: ${text}`).toBe(false);
      }
      // the bystander lost nothing
      const mentions = (rows: typeof before) => rows.filter((r) => r.text.includes(bystander.leadId) || r.text.includes(bystander.phone)).length;
      expect(mentions(after)).toBe(mentions(before));
      expect(mentions(after)).toBeGreaterThan(10);
      expect((await getSegment(db, site.siteId, 'hot_leads'))?.memberCount).toBe(0);

      expect((await erase(lead.leadId)).status).toBe(404);
      expect((await created.app.request(`/api/leads/${lead.leadId}`, { headers: { authorization: site.leadsRead } })).status).toBe(404);
    });

    test('a device shared with another lead keeps that lead’s events and the visitor; the erased lead’s period goes', async () => {
      const a = await makeLead(db, site.siteId, { email: 'a@example.com' });
      const b = await makeLead(db, site.siteId, { email: 'b@example.com' });
      const shared = await makeVisitor(db, site.siteId, { leadId: b });
      await makeLink(db, site.siteId, { visitorId: shared, leadId: a, fromAt: T0, toAt: T0 + DAY, email: 'a@example.com', reason: 'identify' });
      await makeLink(db, site.siteId, { visitorId: shared, leadId: b, fromAt: T0 + DAY, email: 'b@example.com', reason: 'identify' });
      await makeEvent(db, site.siteId, { visitorId: shared, leadId: a, at: T0 + 10, email: 'a@example.com', name: 'identify' });
      await makeEvent(db, site.siteId, { visitorId: shared, leadId: null, at: T0 + 20 });
      await makeEvent(db, site.siteId, { visitorId: shared, leadId: b, at: T0 + DAY + 10, email: 'b@example.com', name: 'identify' });
      const res = await erase('a@example.com');
      expect(res.status).toBe(200);
      expect((await res.json()).erased).toMatchObject({ events: 2, visitors: 0, identityLinks: 1, leads: 1 });
      for (const { text } of await everyRow()) {
        expect(text.includes('a@example.com')).toBe(false);
        expect(text.includes(a)).toBe(false);
      }
      const left = await db.all<{ lead_id: string }>('SELECT lead_id FROM events WHERE site_id = ? AND visitor_id = ?', [site.siteId, shared]);
      expect(left).toEqual([{ lead_id: b }]);
      expect((await created.app.request(`/api/leads/${shared}`, { headers: { authorization: site.leadsRead } })).status).toBe(200);
    });

    test('erasing by visitor id erases the visitor’s lead', async () => {
      const lead = await makeLeadOnTwoDevices(db, site.siteId);
      const res = await erase(lead.laptop);
      expect(res.status).toBe(200);
      expect((await res.json()).leadId).toBe(lead.leadId);
      expect(await db.get('SELECT 1 FROM visitors WHERE site_id = ? AND visitor_id = ?', [site.siteId, lead.phone])).toBeUndefined();
    });
  });
});
