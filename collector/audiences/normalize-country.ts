// ISO-3166 alpha-2 country codes from the free-text `country` trait; anything else becomes empty.
import { CALLING_CODES } from './calling-codes.js';

/** Common spellings that are not alpha-2 but mean exactly one country. */
const ALIASES: Readonly<Record<string, string>> = { UK: 'GB', USA: 'US', 'UNITED STATES': 'US', 'UNITED KINGDOM': 'GB' };

/** "us", " U.S. ", "UK" → "US"/"GB"; unknown or empty → "". Upper-case, as Google and LinkedIn show it. */
export function normalizeCountry(raw: string): string {
  const upper = raw.trim().toUpperCase();
  if (!upper) return '';
  if (ALIASES[upper]) return ALIASES[upper];
  const letters = upper.replace(/[\s.]/g, '');
  if (ALIASES[letters]) return ALIASES[letters];
  return /^[A-Z]{2}$/.test(letters) && CALLING_CODES.has(letters) ? letters : '';
}
