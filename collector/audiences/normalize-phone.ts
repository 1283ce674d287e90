// Phone numbers to E.164 ("+4930123456"); Google takes it as is, Meta without the "+".
import { CALLING_CODES, DEFAULT_TRUNK_PREFIX, TRUNK_PREFIXES } from './calling-codes.js';

/**
 * Rules, in order (documented in README "Audience exports"):
 * 1. An extension ("x12", "ext. 12", ";ext=12", "#12") at the end is dropped, and so is a "(0)" written
 *    after the country code ("+44 (0)20…"); letters and symbols are ignored.
 * 2. A leading "+" means the country code is already there.
 * 3. Otherwise a leading "00" (or "011" in NANP countries) is the international prefix and is dropped.
 * 4. Otherwise the number is national: the lead's `country` trait (alpha-2) gives the calling code and the
 *    trunk prefix (usually 0) is dropped. Without a known country the number is ambiguous and becomes "".
 * 5. The result must have 7 to 15 digits not starting with 0 (NANP: exactly 1 + 10 digits), else "".
 */
export function toE164(raw: string, defaultCountry = ''): string {
  const withoutExt = raw
    .trim()
    .replace(/\s*(?:;\s*ext=|ext\.?|extension|x|#)\s*\d{1,6}\s*$/i, '')
    .replace(/\(0\)/g, '');
  const hasPlus = /^\+/.test(withoutExt.replace(/^[\s(]+/, ''));
  let digits = withoutExt.replace(/\D/g, '');
  if (!digits) return '';
  const country = defaultCountry.toUpperCase();
  const countryCode = CALLING_CODES.get(country);
  if (!hasPlus) {
    if (digits.startsWith('00')) digits = digits.slice(2);
    else if (countryCode === '1' && digits.startsWith('011')) digits = digits.slice(3);
    else if (countryCode) digits = countryCode + nationalNumber(digits, country, countryCode);
    else return '';
  }
  if (!/^[1-9]\d{6,14}$/.test(digits)) return '';
  if (digits.startsWith('1') && digits.length !== 11) return '';
  return '+' + digits;
}

function nationalNumber(digits: string, country: string, countryCode: string): string {
  if (countryCode === '1') return digits.length === 11 && digits.startsWith('1') ? digits.slice(1) : digits;
  const trunk = TRUNK_PREFIXES[country] ?? DEFAULT_TRUNK_PREFIX;
  return trunk && digits.startsWith(trunk) ? digits.slice(trunk.length) : digits;
}
