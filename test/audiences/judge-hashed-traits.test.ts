// A CRM that hashes before it sends, judged over real HTTP (app.request) on a real SQLite file. README (Audience
// exports): "A trait that is already a SHA-256 hex digest (from a CRM that hashes) goes into a hashed cell as it is,
// lower-case, never hashed twice, and leaves a clear cell (Google Zip, LinkedIn text) empty." Meta's `country` is a
// hashed cell (research: COUNTRY, lower-case ISO alpha-2, SHA-256); Google's Country and LinkedIn's country are clear.
import { describe, expect, test } from 'vitest';
import { sha, useExportRigs } from './export-rig.js';

const setup = useExportRigs();

describe('a country trait that arrives as a SHA-256 digest', () => {
  test("Meta's country cell carries the digest as it is, lower-case; Google's and LinkedIn's clear country stay empty", async () => {
    const h = await setup();
    const digest = sha('de'); // Meta's own normalization of Germany, hashed by the CRM
    await h.server({
      email: 'hashed-country@example.com', name: 'crm_sync', traits: { country: digest.toUpperCase(), firstName: 'Eva' },
    });
    await h.segment('t_all_known', { identified: true });
    const meta = await h.fileOf('t_all_known', 'meta');
    expect(meta.header).toEqual(['email', 'phone', 'fn', 'ln', 'ct', 'st', 'zip', 'country']);
    expect(meta.byEmail('hashed-country@example.com')).toEqual([sha('hashed-country@example.com'), '', sha('eva'), '', '', '', '', digest]);
    const google = await h.fileOf('t_all_known', 'google');
    expect(google.byEmail('hashed-country@example.com')).toEqual([sha('hashed-country@example.com'), '', sha('eva'), '', '', '']);
    const linkedin = await h.fileOf('t_all_known', 'linkedin');
    expect(linkedin.byEmail('hashed-country@example.com')).toEqual([sha('hashed-country@example.com'), 'Eva', '', '', '', '', '']);
  });
});
