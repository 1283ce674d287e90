// What names a session and what identifies a campaign: shared by the session rules and the late-event rules.
import type { WireTouch } from '../../shared/wire.js';

/** What identifies a campaign: source, medium, campaign and any click id. Empty for a touch without one. */
export function campaignKey(touch: WireTouch | null | undefined): string {
  if (!touch) return '';
  const parts = [touch.utm_source, touch.utm_medium, touch.utm_campaign, touch.gclid, touch.fbclid, touch.msclkid, touch.li_fat_id, touch.ttclid];
  return parts.some(Boolean) ? parts.map((p) => p ?? '').join('|') : '';
}

export const sessionIdFor = (visitorId: string, started: number) => `${visitorId}.${started.toString(36)}`;
