// Phone extensions as CRMs and forms write them, judged over real HTTP (app.request) on a real SQLite file. README
// (Audience exports): Google wants the phone "E.164 **with** `+`", Meta "digits **without** `+`"; an extension is no
// part of an E.164 number. libphonenumber (what Google's own tools parse phones with) reads `ext`, `extn`,
// `extension`, `extensión`, `anexo` and `доб`, each optionally followed by `.` or `:`, as an extension. Left in, the
// extension's digits made a 15-digit number that hashes to nobody (`+44 20 7946 0958 ext: 123`), or a NANP number of
// 13 digits that was dropped.
import { describe, expect, test } from 'vitest';
import { sha, useExportRigs } from './export-rig.js';

const setup = useExportRigs();

describe('a phone trait written with its extension', () => {
  test.each([
    ['+1 415 555 2671 Ext: 12', 'US', '+14155552671'],
    ['+44 20 7946 0958 ext.: 123', 'GB', '+442079460958'],
    ['(514) 555-1234 extn 5', 'CA', '+15145551234'],
    ['+1 415 555 2671 extension: 12', 'US', '+14155552671'],
    ['+34 91 123 45 67 anexo 12', 'ES', '+34911234567'],
    ['+7 495 123-45-67 доб. 123', 'RU', '+74951234567'],
    ['+1 415 555 2671 x12', 'US', '+14155552671'],
  ])('%s (%s): Google hashes %s, Meta its digits without +', async (phone, country, e164) => {
    const h = await setup();
    await h.server({ email: 'ext@example.com', name: 'crm_sync', traits: { phone, country } });
    await h.segment('t_known', { identified: true });
    const google = await h.fileOf('t_known', 'google');
    expect(google.byEmail('ext@example.com')![1]).toBe(sha(e164));
    const meta = await h.fileOf('t_known', 'meta');
    expect(meta.byEmail('ext@example.com')![1]).toBe(sha(e164.slice(1)));
  });
});
