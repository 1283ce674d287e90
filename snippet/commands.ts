// The JavaScript API: funnelbeam(command, ...args). Unknown commands do nothing.
import { segments } from './segments.js';
import { How, pageview } from './pageview.js';
import { track } from './track.js';
import { visitorId } from './ids.js';
import { setConsent } from './consent.js';
import { safe } from './safe.js';

/** (what throws stays here: safe.ts; the order of the tests is the one gzip compresses best) */
export const command = safe((name: string, a?: any, b?: any) => {
  // only true grants: a CMP's 'false' or 'denied' (strings) is a refusal, and so is any other value
  if (name == 'consent') setConsent(a === true);
  else if (name == 'page') pageview(How.Force);
  else if (name == 'track') track(a, { p: b });
  else if (name == 'identify') track(name, { em: a, tr: b });
  else if (name == 'visitorId') a(visitorId());
  else if (name == 'segments') segments(a);
});
