// What names a session and what identifies a campaign: shared by the session rules and the late-event rules.
import { CLICK_IDS } from '../../shared/events.js';
import type { WireTouch } from '../../shared/wire.js';

/**
 * What identifies a campaign: source, medium, campaign and any click id, in CLICK_IDS order (late-events.ts
 * campaignAsStored reads the click ids at the key's end by that list). Empty for a touch without one.
 */
export function campaignKey(touch: WireTouch | null | undefined): string {
  if (!touch) return '';
  const parts = [touch.utm_source, touch.utm_medium, touch.utm_campaign, ...CLICK_IDS.map((id) => touch[id])];
  return parts.some(Boolean) ? parts.map((p) => p ?? '').join('|') : '';
}

export const sessionIdFor = (visitorId: string, started: number) => `${visitorId}.${started.toString(36)}`;

/**
 * When a session began, as its id names it (sessionIdFor; a session opened by a late event whose name was taken is
 * named a millisecond or so on), or null for an id not of that form (a server event's `srv:` session).
 */
export function sessionStartOf(visitorId: string, sessionId: string): number | null {
  if (!sessionId.startsWith(visitorId + '.')) return null;
  const rest = sessionId.slice(visitorId.length + 1);
  const at = /^-?[0-9a-z]+$/.test(rest) ? parseInt(rest, 36) : NaN;
  return Number.isSafeInteger(at) ? at : null;
}
