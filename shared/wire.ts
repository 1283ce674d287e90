// The wire format of POST /e, shared by snippet and collector. Short keys: every byte ships in the snippet.
import type { FormKind } from './events.js';

/** Attribution captured from a landing URL: UTM parameters, click ids, referrer and landing page. */
export interface WireTouch {
  utm_source?: string;
  utm_medium?: string;
  utm_campaign?: string;
  utm_term?: string;
  utm_content?: string;
  gclid?: string;
  fbclid?: string;
  msclkid?: string;
  li_fat_id?: string;
  ttclid?: string;
  gbraid?: string;
  wbraid?: string;
  /** referrer of the landing page */
  ref?: string;
  /** landing page URL */
  url?: string;
  /** when the touch happened, epoch ms */
  at?: number;
}

export type WireProps = Record<string, string | number | boolean>;

export interface WireEvent {
  /** client-made event id, unique per site (retries reuse it) */
  i: string;
  /** event name */
  n: string;
  /** client time, epoch ms */
  t: number;
  /** page URL */
  u: string;
  /** document referrer */
  r?: string;
  /** props: flat strings, numbers, booleans */
  p?: WireProps;
  /** first-touch attribution of the visitor */
  ft?: WireTouch;
  /** session-touch attribution */
  st?: WireTouch;
  /** email that identifies the visitor (identify or a submitted form) */
  em?: string;
  /** traits sent with identify or marked form fields */
  tr?: Record<string, string>;
  /**
   * form kind for form events; the snippet sends a form's own `data-funnelbeam` marker here too ("contact"), which the
   * collector stores as kind `other` with the marker in `props.form`
   */
  f?: FormKind;
}

export interface WireBatch {
  /** public site key from data-site */
  s: string;
  /** visitor id from first-party storage */
  v: string;
  /** events, oldest first */
  e: WireEvent[];
  /** the device's clock when the batch was sent, epoch ms: the collector corrects the events' times by its skew */
  t?: number;
  /**
   * present (the attribute's value, often "") when the tag has data-local: the site asked for automated browsers to be
   * tracked, so a headless browser's user agent does not make it a bot
   */
  l?: string;
}
