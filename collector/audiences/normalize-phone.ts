// Phone numbers to E.164 ("+4930123456"); Google takes it as is, Meta without the "+".
import {
  CALLING_CODES,
  COUNTRIES_BY_CALLING_CODE,
  DEFAULT_TRUNK_PREFIX,
  FIXED_LENGTH_TRUNKS,
  TRUNK_PREFIXES,
} from './calling-codes.js';
import { toHalfWidth } from './normalize-text.js';

/**
 * An extension at the end, by the words libphonenumber reads as one: `;ext=`, `ext`, `extn`, `xt`, `extension`,
 * `extensión`, Spanish `anexo` and Russian `доб`, each with an optional `.` or `:` (`Ext: 12`, `ext.: 12`, as CRMs and
 * forms write it), or `x`, `#`, `~`. Left in, its digits made a wrong number (`+44 20 7946 0958 ext: 123` hashed as
 * +442079460958123) or none (a NANP number of 13 digits).
 */
const EXTENSION = /\s*(?:;\s*ext=|(?:e?xt(?:ensi[oó]n|n)?|anexo|доб)\.?:?|[x#~])\s*\d{1,6}\s*$/iu;

/**
 * Rules, in order (documented in README "Audience exports"):
 * 0. Full-width digits and signs (a Japanese or Chinese IME types "０９０－１２３４") become ASCII (NFKC).
 * 1. An extension ("x12", "ext. 12", "Ext: 12", "extn 12", ";ext=12", "#12", EXTENSION) at the end is dropped, and so is a "(0)" written
 *    after the country code ("+44 (0)20…"); letters and symbols are ignored.
 * 2. A "+" before the first digit (after a label such as "Tel:" or a `tel:` URI scheme too) means the country code
 *    is already there.
 * 3. Otherwise a leading "00" (or "011" in NANP countries) is the international prefix and is dropped.
 * 4. Otherwise the number is national: the lead's `country` trait (alpha-2) gives the calling code and the
 *    trunk prefix (usually 0; 06 in Hungary) is dropped. Without a known country the number is ambiguous and
 *    becomes "". Where the trunk prefix is 8 (Russia, Kazakhstan, Belarus, Lithuania until 2025), whose numbers
 *    may begin with 8 too, and in Mexico (01, 044, 045, "1" until 2019), a prefix is dropped only when the national
 *    number's full length follows it, and the calling code followed by that length is the international form
 *    without "+" ("7 912 345-67-89" in RU).
 *    A trunk prefix written after an international calling code ("+49 030…", "+90 (0532)…", "+36 06 20…",
 *    "+370 8 612…", "+52 1 55…") is dropped too, where no country of that code keeps a leading 0 in E.164.
 * 5. The result must have 7 to 15 digits not starting with 0 (NANP: exactly 1 + 10 digits), else "".
 */
export function toE164(raw: string, defaultCountry = ''): string {
  const withoutExt = toHalfWidth(raw)
    .trim()
    .replace(EXTENSION, '')
    .replace(/\(0\)/g, '');
  // a "+" before the first digit, whatever precedes it: "(+44) …", "Tel: +44 …", "tel:+1-…" (RFC 3966)
  const hasPlus = /^[^\d+]*\+/.test(withoutExt);
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
  digits = withoutTrunkAfterCode(digits);
  if (!/^[1-9]\d{6,14}$/.test(digits)) return '';
  if (digits.startsWith('1') && digits.length !== 11) return '';
  return '+' + digits;
}

function nationalNumber(digits: string, country: string, countryCode: string): string {
  if (countryCode === '1') return digits.length === 11 && digits.startsWith('1') ? digits.slice(1) : digits;
  const fixed = FIXED_LENGTH_TRUNKS[country];
  if (fixed) {
    // "7 912 345-67-89", "521 55 1234 5678": the calling code, then a full national number, is international
    const international = digits.startsWith(countryCode) ? withoutFixedLengthTrunk(digits.slice(countryCode.length), fixed) : '';
    return international.length === fixed.length ? international : withoutFixedLengthTrunk(digits, fixed);
  }
  const trunk = TRUNK_PREFIXES[country] ?? DEFAULT_TRUNK_PREFIX;
  return trunk && digits.startsWith(trunk) ? digits.slice(trunk.length) : digits;
}

/**
 * "490301234567" → "49301234567", "3606201234567" → "36201234567": calling codes are prefix-free, so the first 1-3
 * digits name exactly one code. Where every country of the code has a trunk prefix starting with 0, no number there
 * starts with 0 in E.164: the trunk prefix typed after the code is dropped, or a lone 0.
 */
function withoutTrunkAfterCode(digits: string): string {
  for (let length = 1; length <= 3; length++) {
    const code = digits.slice(0, length);
    const countries = COUNTRIES_BY_CALLING_CODE.get(code);
    if (!countries) continue;
    // zone 7's two countries (Russia, Kazakhstan) share their prefix and length
    const fixed = FIXED_LENGTH_TRUNKS[countries[0]!];
    if (fixed && countries.every((c) => FIXED_LENGTH_TRUNKS[c])) return code + withoutFixedLengthTrunk(digits.slice(length), fixed);
    const trunks = new Set(countries.map((c) => TRUNK_PREFIXES[c] ?? DEFAULT_TRUNK_PREFIX));
    if (code === '1' || ![...trunks].every((t) => t.startsWith('0'))) return digits;
    const typed = [...trunks, '0'].find((t) => digits.startsWith(t, length));
    return typed ? code + digits.slice(length + typed.length) : digits;
  }
  return digits;
}

/** "80291234567" → "291234567" in Belarus; "8121234567" (St Petersburg without its trunk 8) stays as it is. */
function withoutFixedLengthTrunk(digits: string, fixed: (typeof FIXED_LENGTH_TRUNKS)[string]): string {
  const typed = fixed.prefixes.find(
    (prefix) => digits.startsWith(prefix) && digits.length === prefix.length + fixed.length && digits[prefix.length] !== '0',
  );
  return typed ? digits.slice(typed.length) : digits;
}
