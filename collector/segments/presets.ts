// The segments every new site starts with, as data: the retargeting playbook's stalls, plus customers for suppression.
import type { SegmentDefinition } from './definition.js';

export interface SegmentPreset {
  key: string;
  name: string;
  definition: SegmentDefinition;
}

export const SEGMENT_PRESETS: readonly SegmentPreset[] = [
  {
    key: 'pricing_no_demo',
    name: 'Saw pricing in the last 30 days, no demo requested',
    definition: {
      all: [
        { did: { event: 'pageview', path: '/pricing*', within: '30d' } },
        { not: { did: { event: 'demo_request' } } },
        { not: { stage: { gte: 'purchase' } } },
      ],
    },
  },
  {
    key: 'newsletter_cold',
    name: 'Newsletter subscribers with no visit in 30 days',
    definition: {
      all: [
        { did: { event: 'newsletter_signup' } },
        { not: { did: { event: 'pageview', within: '30d' } } },
        { not: { stage: { gte: 'purchase' } } },
      ],
    },
  },
  {
    key: 'content_downloaders',
    name: 'Downloaded content (ebook, whitepaper, case study)',
    definition: {
      all: [
        { did: { event: 'download' } },
        { not: { stage: { gte: 'purchase' } } },
      ],
    },
  },
  {
    key: 'demo_no_close',
    name: 'Requested a demo, deal not closed',
    definition: {
      all: [
        { did: { event: 'demo_request' } },
        // the CRM's closed_lost only: a page's own event of that name (a widget, a script, the console) loses no deal
        { not: { did: { event: 'closed_lost', source: 'server' } } },
        { not: { stage: { gte: 'purchase' } } },
      ],
    },
  },
  {
    key: 'stalled_consideration',
    name: 'In consideration for 21 days or more',
    definition: {
      all: [
        { stage: { eq: 'consideration' } },
        { inStage: { days: { gte: 21 } } },
      ],
    },
  },
  {
    key: 'customers',
    name: 'Customers (for suppression)',
    // purchase is reached only by the CRM's server closed_won (contract §6); a `did` condition counts a page's own event
    // of that name too, which made a prospect a customer and took it off every platform list
    definition: { stage: { eq: 'purchase' } },
  },
];
