// The JavaScript API: funnelbeam(command, ...args). Unknown commands do nothing.
import { api, data } from './config.js';
import { setConsent } from './consent.js';
import { visitorId } from './ids.js';
import { pageview } from './pageview.js';
import { track } from './track.js';

export const command = (name: string, a?: any, b?: any) => {
  if (name == 'track') track(a, { p: b });
  if (name == 'identify') track(name, { em: a, tr: b });
  if (name == 'page') pageview(0, 1);
  if (name == 'consent') setConsent(a);
  if (name == 'visitorId') a(visitorId());
  if (name == 'segments') {
    // the visitor's segment keys, also pushed to window.dataLayer for ad pixels; [] when off or failing
    const v = visitorId();
    const w = window as unknown as { dataLayer?: unknown[] };
    (v ? fetch(api + 'api/visitors/' + v + '/segments?site=' + data.site) : Promise.reject())
      .then((r) => r.json())
      .then((j) => (w.dataLayer ||= []).push({ event: 'funnelbeam_segments', segments: (b = j.segments) }))
      .catch(() => (b = []))
      .then(() => a(b))
      .catch(String); // a throwing or missing callback stays quiet
  }
};
