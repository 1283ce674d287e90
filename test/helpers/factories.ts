// Fixture factories for wire batches and events.
import { randomBytes } from 'node:crypto';
import type { WireBatch, WireEvent } from '../../shared/wire.js';

export const randomId = (n = 12) => randomBytes(n).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x');

export function makeWireEvent(overrides: Partial<WireEvent> = {}): WireEvent {
  return { i: randomId(), n: 'pageview', t: Date.now(), u: 'http://127.0.0.1/demo/', ...overrides };
}

export function makeBatch(siteKey: string, overrides: Partial<WireBatch> = {}, events: Partial<WireEvent>[] = [{}]): WireBatch {
  return { s: siteKey, v: 'v_' + randomId(), e: events.map((e) => makeWireEvent(e)), ...overrides };
}

export const CHROME_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
export const IPHONE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
export const BOT_UA = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
