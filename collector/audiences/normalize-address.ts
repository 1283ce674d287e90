// City, state and postal code before hashing (Meta) or as plain columns (Google Zip).
import { lowerTrim, stripPunctuation, stripWhitespace } from './normalize-text.js';
import { US_STATE_CODES } from './us-states.js';

const US_ZIP = /^(\d{5})(?:-?\d{4})?$/;

/** Meta `ct`: lower-case, no spaces, punctuation, symbols or digits ("St. Louis" → "stlouis"). */
export const normalizeCity = (raw: string) => stripWhitespace(stripPunctuation(lowerTrim(raw))).replace(/\d/g, '');

/** Meta `st`: a US state name or code → its lower-case two-letter code; elsewhere lower-case without spaces or punctuation. */
export function normalizeState(raw: string, country: string): string {
  const compact = stripWhitespace(stripPunctuation(lowerTrim(raw)));
  if (country === 'US' || country === '') return US_STATE_CODES.get(compact) ?? compact;
  return compact;
}

/** Meta `zip`: lower-case, no spaces or dashes; US (or a US-shaped code with no country) keeps the first 5 digits. */
export function normalizeZipForMeta(raw: string, country: string): string {
  const compact = stripWhitespace(lowerTrim(raw)).replace(/-/g, '');
  const us = US_ZIP.exec(stripWhitespace(raw.trim()));
  if (us && (country === 'US' || country === '')) return us[1];
  if (country === 'US') return /^\d{5}/.test(compact) ? compact.slice(0, 5) : '';
  return compact;
}

/** Google Zip (sent unhashed): US → 5 digits; elsewhere trimmed, one space at most between parts, upper-case. */
export function normalizeZipForGoogle(raw: string, country: string): string {
  const trimmed = raw.trim().replace(/\s+/g, ' ');
  const us = US_ZIP.exec(trimmed.replace(/\s/g, ''));
  if (us && (country === 'US' || country === '')) return us[1];
  if (country === 'US') return '';
  return trimmed.toUpperCase();
}
