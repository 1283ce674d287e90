// Event names the snippet sends by itself, and the names with meaning for the funnel engine.
export const AUTO_EVENTS = {
  pageview: 'pageview',
  download: 'download',
  outbound: 'outbound',
  newsletter: 'newsletter_signup',
  demo: 'demo_request',
  form: 'form_submit',
  engagement: 'engagement',
  identify: 'identify',
} as const;

/** Server-side events from sales and the CRM (POST /api/events). Any name is accepted; these have default rules. */
export const SERVER_EVENTS = [
  'demo_completed',
  'proposal_sent',
  'opportunity_created',
  'sales_accepted',
  'closed_won',
  'closed_lost',
] as const;

/**
 * What an event name may hold: letters, marks and digits of any script, spaces and `_ . : / $ -`, so names as tracking
 * plans write them (`Demo Booked`, `webinar/registered`, `Téléchargement`) are kept as given. No comma: the timeline's
 * `types` lists names separated by commas. Names are trimmed first.
 */
export const EVENT_NAME_RE = /^[\p{L}\p{M}\p{N}_.:/$ -]+$/u;
export const EVENT_NAME_RULE = 'event names hold letters, digits, spaces and _ . : / $ -';

/** Where a stored event came from: the snippet (`web`, which any page can send) or `POST /api/events` (`server`, the CRM). */
export const EVENT_SOURCES = ['web', 'server'] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

/** Form kinds, from `data-funnelbeam` on the form element. */
export const FORM_KINDS = ['newsletter', 'demo', 'other'] as const;
export type FormKind = (typeof FORM_KINDS)[number];

/** Click ids kept with a touch, next to the UTM parameters. */
// gbraid and wbraid are Google Ads' click ids on iOS (app and web), where gclid is not set. Session campaign keys list the
// click ids in this order (campaignAsStored counts them from the key's end).
export const CLICK_IDS = ['gclid', 'fbclid', 'msclkid', 'li_fat_id', 'ttclid', 'gbraid', 'wbraid'] as const;
export const UTM_KEYS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'] as const;

/** Trait keys that feed audience exports. */
export const TRAIT_KEYS = ['phone', 'firstName', 'lastName', 'company', 'jobTitle', 'country', 'city', 'state', 'zip'] as const;
export type TraitKey = (typeof TRAIT_KEYS)[number];
