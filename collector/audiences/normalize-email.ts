// Email normalization before hashing: trimmed and lower-cased (every platform); no Gmail dot removal.
import { canonicalEmail } from '../identity/canonical-email.js';
import { lowerTrim, stripWhitespace } from './normalize-text.js';

/** Invisible format characters (soft hyphen, zero-width space and joiners, BOM) that copy and paste leave in an address. */
const INVISIBLE = /\p{Cf}/gu;

/**
 * Trim, lower-case, and drop any whitespace or invisible character inside (Google: "remove spaces before, after
 * and inside"). A value without exactly one "@" with text on both sides is not an email and becomes "".
 * Dots in Gmail local parts are kept: Customer Match and Meta do not ask for their removal.
 * An international domain is hashed in Unicode, the one spelling leads keep (identity/canonical-email.ts), whichever
 * spelling (`bücher.example`, `xn--bcher-kva.example`) the address came in.
 */
export function normalizeEmail(raw: string): string {
  const email = canonicalEmail(stripWhitespace(lowerTrim(raw)).replace(INVISIBLE, ''));
  return /^[^@]+@[^@]+$/.test(email) ? email : '';
}
