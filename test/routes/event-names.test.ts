// Event names as tracking plans write them (Segment's "Object Action" with spaces, path-like names, other scripts) are
// kept as given by POST /e and POST /api/events, and the timeline's `types` finds them; a name with a comma or other
// punctuation is still refused with its reason.
import { expect, test } from 'vitest';
import { timeline, useJourneys } from '../helpers/journey-api.js';

const { open } = useJourneys();
const NAMES = ['Demo Booked', 'webinar/registered', 'Téléchargement', '資料請求'];

test('beacon and server event names with spaces, slashes and non-Latin letters are stored as given and filtered by types', async () => {
  const j = await open();
  await j.visit('visitor-names', [{ n: 'identify', em: 'names@corp.test' }, ...NAMES.map((n) => ({ n }))]);
  const crm = await j.serverEvents({ email: 'names@corp.test', name: '  Contract Signed ' });
  expect(crm.status).toBe(202);
  const leadId = await j.leadOfVisitor('visitor-names');
  const names = (await timeline(j, leadId, 'types=event')).items.map((i) => i.name);
  expect(names).toEqual(expect.arrayContaining([...NAMES, 'Contract Signed']));
  const only = await timeline(j, leadId, 'types=' + encodeURIComponent('Demo Booked,資料請求'));
  expect(only.items.map((i) => i.name).sort()).toEqual(['Demo Booked', '資料請求'].sort());
});

test('a name with punctuation outside the rule is refused alone, with the rule in the message', async () => {
  const j = await open();
  await j.visit('visitor-bad', [{ n: 'pageview' }, { n: 'bad name!' }, { n: 'a,b' }]);
  const stored = await j.db.all<{ name: string }>('SELECT name FROM events WHERE visitor_id = ?', ['visitor-bad']);
  expect(stored.map((r) => r.name)).toEqual(['pageview']);
  const refused = await j.db.all<{ message: string }>("SELECT message FROM rejected_events WHERE route = '/e'");
  expect(refused.map((r) => r.message)).toEqual([expect.stringContaining('event names hold'), expect.stringContaining('event names hold')]);
  const crm = await j.serverEvents({ email: 'bad@corp.test', name: 'closed;won' });
  expect(crm.status).toBe(400);
});
