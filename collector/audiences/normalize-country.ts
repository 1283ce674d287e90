// ISO-3166 alpha-2 country codes from the free-text `country` trait; anything else becomes empty.
import { ALPHA3_TO_ALPHA2 } from './alpha3-codes.js';
import { CALLING_CODES } from './calling-codes.js';
import { countryFromName } from './country-names.js';
import { toHalfWidth } from './normalize-text.js';

/**
 * "us", " U.S. ", "ＪＰ", "UK", "DEU", "Deutschland", "日本" → "US"/"JP"/"GB"/"DE"/"DE"/"JP"; unknown or empty → "".
 * Upper-case, as Google and LinkedIn show it.
 */
export function normalizeCountry(raw: string): string {
  const letters = toHalfWidth(raw).trim().toUpperCase().replace(/[\s.]/g, '');
  if (!letters) return '';
  if (/^[A-Z]{2}$/.test(letters) && CALLING_CODES.has(letters)) return letters;
  if (/^[A-Z]{3}$/.test(letters) && ALPHA3_TO_ALPHA2.has(letters)) return ALPHA3_TO_ALPHA2.get(letters)!;
  return countryFromName(raw);
}
