// ISO-3166 alpha-2 country codes from the free-text `country` trait; anything else becomes empty.
import { CALLING_CODES } from './calling-codes.js';
import { countryFromName } from './country-names.js';
import { toHalfWidth } from './normalize-text.js';

/**
 * "us", " U.S. ", "ＪＰ", "UK", "Deutschland", "日本" → "US"/"JP"/"GB"/"DE"/"JP"; unknown or empty → "".
 * Upper-case, as Google and LinkedIn show it.
 */
export function normalizeCountry(raw: string): string {
  const letters = toHalfWidth(raw).trim().toUpperCase().replace(/[\s.]/g, '');
  if (!letters) return '';
  if (/^[A-Z]{2}$/.test(letters) && CALLING_CODES.has(letters)) return letters;
  return countryFromName(raw);
}
