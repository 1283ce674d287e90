// The JavaScript API: funnelbeam(command, ...args). Unknown commands do nothing.
import { setConsent } from './consent.js';
import { visitorId } from './ids.js';
import { How, pageview } from './pageview.js';
import { segments } from './segments.js';
import { track } from './track.js';

export const command = (name: string, a?: any, b?: any) => {
  if (name == 'track') track(a, b);
  else if (name == 'segments') segments(a);
  else if (name == 'visitorId') a(visitorId());
  else if (name == 'identify') track(name, undefined, { em: a, tr: b });
  else if (name == 'consent') setConsent(a);
  else if (name == 'page') pageview(How.Force);
};
