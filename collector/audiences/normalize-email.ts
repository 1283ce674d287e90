// Email normalization before hashing: trimmed and lower-cased (every platform); no Gmail dot removal.
import { lowerTrim, stripWhitespace } from './normalize-text.js';

/**
 * Trim, lower-case, and drop any whitespace inside (Google: "remove spaces before, after and inside").
 * A value without exactly one "@" with text on both sides is not an email and becomes "".
 * Dots in Gmail local parts are kept: Customer Match and Meta do not ask for their removal.
 */
export function normalizeEmail(raw: string): string {
  const email = stripWhitespace(lowerTrim(raw));
  return /^[^@]+@[^@]+$/.test(email) ? email : '';
}
