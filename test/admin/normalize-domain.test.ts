// A site's domain as the admin types it, stored as browsers send it in Origin (punycode, no trailing dot): otherwise
// the collector refuses every beacon of the site's own pages with 403.
import { expect, test } from 'vitest';
import { AdminError, normalizeDomain } from '../../collector/admin.js';
import { makeIngestApp } from '../helpers/ingest-app.js';

test.each([
  ['example.com', 'example.com'],
  ['https://www.Example.com/path?x=1', 'www.example.com'],
  ['EXAMPLE.com.', 'example.com'],
  ['example.com.:8443', 'example.com'],
  ['bücher.de', 'xn--bcher-kva.de'],
  ['https://Bücher.de/', 'xn--bcher-kva.de'],
  ['xn--bcher-kva.de', 'xn--bcher-kva.de'],
  ['127.0.0.1', '127.0.0.1'],
])('%s is stored as %s', (typed, stored) => {
  expect(normalizeDomain(typed)).toBe(stored);
});

test.each(['not a host!', 'bücher de', 'a..b', '', '.', 'exa_mple.com'])('%j is refused', (typed) => {
  expect(() => normalizeDomain(typed)).toThrow(AdminError);
});

test('a site created as bücher.de takes beacons from its pages, whose Origin is punycode', async () => {
  const { post, site } = await makeIngestApp({ domain: 'Bücher.de.' });
  expect(site.domain).toBe('xn--bcher-kva.de');
  const beacon = (i: string) => ({ s: site.siteKey, v: 'v-idn-visitor-01', e: [{ i, n: 'pageview', t: Date.now(), u: 'https://xn--bcher-kva.de/' }] });
  const first = await post(beacon('idn-event-0001'), { origin: 'https://xn--bcher-kva.de' });
  expect([first.status, await first.text()]).toEqual([202, expect.any(String)]);
  expect((await post(beacon('idn-event-0002'), { origin: 'https://shop.xn--bcher-kva.de' })).status).toBe(202);
  expect((await post(beacon('idn-event-0003'), { origin: 'https://xn--bcher-kva.de.evil.test' })).status).toBe(403);
});
