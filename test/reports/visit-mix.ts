// The generated visitors of the breakdown tests (funnel-touch-keys, touch-day-counts): campaign, organic and direct
// sessions (the last touch moves), repeat visits, and forms whose emails recur across devices (merges). Deterministic
// for a seed.
import type { makeJourneyApp, JourneyEvent } from '../helpers/journey-app.js';
import { MIN } from '../helpers/funnel-factories.js';
import { createRng } from '../../scripts/seed/random.js';

const SOURCES = [
  { utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'brand' },
  { utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'generic' },
  { utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'spring' },
  { utm_source: 'linkedin', utm_medium: 'social' },
  null,
];
const PATHS = ['/', '/blog/a', '/pricing', '/case-studies/x', '/compare/y', '/contact'];

export interface VisitMix {
  seed: number;
  start: number;
  visitors: number;
  /** visitor ids are `v_<prefix><7 digits>`, emails `p<n>@<prefix>.test` */
  prefix: string;
  /** how many distinct emails the forms use */
  emails: number;
  /** time between one visitor's first visit and the next visitor's, and between one visitor's sessions */
  visitorGap: number;
  sessionGap: number;
  /** 1 in demoOdds sessions ends with a demo request, else 1 in newsletterOdds with a newsletter signup */
  demoOdds: number;
  newsletterOdds: number;
}

export async function playVisitMix(j: Awaited<ReturnType<typeof makeJourneyApp>>, o: VisitMix): Promise<void> {
  const random = createRng(o.seed);
  const rnd = (n: number) => random.int(0, n - 1);
  for (let v = 0; v < o.visitors; v++) {
    const visitor = `v_${o.prefix}${String(v).padStart(7, '0')}`;
    const sessions = 1 + rnd(3);
    for (let s = 0; s < sessions; s++) {
      const at = o.start + v * o.visitorGap + s * o.sessionGap + rnd(50) * MIN;
      const src = SOURCES[rnd(SOURCES.length)];
      const st = src ? { ...src, url: `http://127.0.0.1/?utm_source=${src.utm_source}`, at } : undefined;
      const events: JourneyEvent[] = [{ path: PATHS[rnd(PATHS.length)], ...(st ? { st } : {}) }, { path: PATHS[rnd(PATHS.length)] }];
      if (rnd(o.demoOdds) === 0) events.push({ n: 'demo_request', f: 'demo', path: '/demo', em: `p${rnd(o.emails)}@${o.prefix}.test` });
      else if (rnd(o.newsletterOdds) === 0) events.push({ n: 'newsletter_signup', f: 'newsletter', path: '/blog', em: `p${rnd(o.emails)}@${o.prefix}.test` });
      await j.visit(visitor, events, at);
    }
  }
}
