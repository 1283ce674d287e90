// City, state and postal code before hashing (Meta) or as plain columns (Google Zip).
import { lowerTrim, stripPunctuation, stripWhitespace, toHalfWidth } from './normalize-text.js';
import { US_STATE_CODES } from './us-states.js';
import { POSTAL_COUNTRY_PREFIXES, POSTAL_SPELLINGS } from './postal-codes.js';

const US_ZIP = /^(\d{5})(?:-?\d{4})?$/;

/** Meta `ct`: lower-case, no spaces, punctuation, symbols or digits ("St. Louis" → "stlouis"). */
export const normalizeCity = (raw: string) => stripWhitespace(stripPunctuation(lowerTrim(raw))).replace(/\d/g, '');

/** Meta `st`: a US state name or code → its lower-case two-letter code; elsewhere lower-case without spaces or punctuation. */
export function normalizeState(raw: string, country: string): string {
  const compact = stripWhitespace(stripPunctuation(lowerTrim(raw)));
  if (country === 'US' || country === '') return US_STATE_CODES.get(compact) ?? compact;
  return compact;
}

/**
 * The code as typed, trimmed, in ASCII (full-width IME digits too), any dash as "-" (an en dash or non-breaking hyphen
 * a word processor put in "94043–1351"), without Japan's postal mark ("〒100-0001") or its country's letters
 * ("D-10115" → "10115").
 */
function postalCode(typed: string, country: string): string {
  const zip = toHalfWidth(typed).trim().replace(/[\p{Pd}\u2212]/gu, '-').replace(/^[\u3012\u3036]\s*/, '');
  const prefix = /^([A-Za-z]{1,3})\s*-\s*(?=\d)/.exec(zip);
  return prefix && POSTAL_COUNTRY_PREFIXES[country]?.includes(prefix[1].toUpperCase()) ? zip.slice(prefix[0].length) : zip;
}

/** Meta `zip`: lower-case, no spaces or dashes; US (or a US-shaped code with no country) keeps the first 5 digits. */
export function normalizeZipForMeta(typed: string, country: string): string {
  const raw = postalCode(typed, country);
  const compact = stripWhitespace(raw.toLowerCase()).replace(/-/g, '');
  const us = US_ZIP.exec(stripWhitespace(raw));
  if (us && (country === 'US' || country === '')) return us[1];
  if (country === 'US') return /^\d{5}/.test(compact) ? compact.slice(0, 5) : '';
  return compact;
}

/**
 * Google Zip (sent unhashed): US → 5 digits; UK and Canada in their post's spelling with one space; elsewhere
 * trimmed, one space at most between parts, upper-case.
 */
export function normalizeZipForGoogle(typed: string, country: string): string {
  const trimmed = postalCode(typed, country).replace(/\s+/g, ' ');
  const us = US_ZIP.exec(trimmed.replace(/\s/g, ''));
  if (us && (country === 'US' || country === '')) return us[1];
  if (country === 'US') return '';
  const upper = trimmed.toUpperCase();
  const spelling = POSTAL_SPELLINGS[country];
  const compact = upper.replace(/[\s-]/g, '');
  return spelling && spelling[0].test(compact) ? compact.replace(spelling[0], spelling[1]) : upper;
}
