// Judge 13: event names in an owner's rules (README "HTTP API": event names are kept as given; README "Funnel engine":
// path globs and text props match in any case, event names are not said to). A name in a rule must mean the same
// whatever else its list holds: `['closed_won', 'deal_*']` and `'closed_won'` take the same events. Segments compare
// names as kept (`did.event`), and so does the suite's independent reading of the rules (oracle-model.ts). Real HTTP
// (app.request) on a real database (PostgreSQL with TEST_ENGINE=pg); CRM events through POST /api/events.
// Bug found and fixed (collector/funnel/match-event.ts): a list with a glob in it matched every name of the list in
// any case, so `Closed_Won` from a CRM scored under `['closed_won', 'deal_*']` and not under `'closed_won'`.
import { describe, expect, test } from 'vitest';
import { iso, postEvents, putConfig, useJourneys } from '../helpers/journey-api.js';
import { HOUR, T0 } from '../helpers/funnel-factories.js';

const { open } = useJourneys();

describe('a name in a rule means one name, whatever its list also holds', () => {
  test('`Closed_Won` and `Deal_Signed` are other names than `closed_won` and `deal_*`, with or without a glob beside them', async () => {
    const j = await open();
    const res = await putConfig(j, {
      stages: ['seen', 'won'],
      stageRules: [{ id: 'seen', stage: 'seen', when: {} }, { id: 'won', stage: 'won', when: { event: 'closed_won', source: 'server' } }],
      scoreRules: [
        { id: 'plain', points: 1, when: { event: 'closed_won', source: 'server' } },
        { id: 'with_glob', points: 10, when: { event: ['closed_won', 'deal_*'], source: 'server' } },
      ],
      halfLifeDays: null,
      mqlThreshold: 100000,
      sqlWhen: [],
    });
    expect(res.status).toBe(200);
    j.clock.now = T0 + 10 * HOUR;
    const names: Array<[string, string[]]> = [
      ['closed_won', ['plain', 'with_glob']],
      ['Closed_Won', []],
      ['deal_signed', ['with_glob']],
      ['Deal_Signed', []],
      ['CLOSED_WON', []],
    ];
    let at = T0;
    for (const [name, rules] of names) {
      const answer = await postEvents(j, { email: 'cruz@names13.test', name, at: iso(at), id: `crm-${at - T0}` });
      const given = await j.db.all<{ rule: string }>('SELECT rule FROM score_changes WHERE site_id = ? AND event_id = ?', [j.site.siteId, 'srv:' + answer.events[0].id]);
      expect(given.map((r) => r.rule).sort(), name).toEqual(rules);
      at += HOUR;
    }
  });
});
