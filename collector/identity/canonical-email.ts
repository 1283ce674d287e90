// One spelling of an email address, wherever one comes in (a form, a CRM event, a `{ref}`, an export, an erasure):
// trimmed, lower-cased, and its domain in Unicode. An address at an international domain reaches us two ways, as a
// CRM writes it (`anna@bücher.example`) and as a browser's email field gives it (`anna@xn--bcher-kva.example`); both
// are one person. Unicode is the spelling people write and sales read in a timeline, and the one the ad platforms'
// "trim, lower-case" hashes from an address as written.
import { domainToASCII, domainToUnicode } from 'node:url';
import { remembered } from '../ingest/remember.js';

/**
 * What may need mapping: a non-ASCII character or a punycode label. Nearly every address has neither: one scan, and
 * nothing allocated past the lower-casing.
 */
const MAY_MAP = /[^\x00-\x7f]|xn--/;

/** Invisible format characters (Unicode category Cf): zero-width space and joiners, soft hyphen, BOM, bidi marks. */
const INVISIBLE = /\p{Cf}/u;
const INVISIBLE_ALL = /\p{Cf}/gu;

/**
 * The domain in Unicode (UTS #46 as WHATWG URL maps it: punycode labels decoded, case folded, NFC, full-width dots and
 * letters made plain). A domain that is no valid host name (Node answers "") stays as written. Remembered for 1,000
 * domains: identifying events of one person repeat their domain.
 */
export const unicodeDomain = remembered((domain: string) => domainToUnicode(domain) || domain, 1000);

/**
 * Trimmed, lower-cased, the domain in Unicode; the local part stays as written apart from lower-casing. Never throws:
 * a value without an "@" or with an invalid domain is only trimmed and lower-cased. Idempotent.
 */
export function canonicalEmail(raw: string): string {
  let email = raw.trim().toLowerCase();
  if (!MAY_MAP.test(email)) return email;
  let at = email.lastIndexOf('@');
  if (at < 0) return email;
  // invisible format characters pasted into the local part (a zero-width space, a soft hyphen) are no part of it, as
  // the audience exports already read it (audiences/normalize-email.ts); the domain's mapping below drops its own
  if (INVISIBLE.test(email.slice(0, at))) {
    email = email.slice(0, at).replace(INVISIBLE_ALL, '').trim() + email.slice(at);
    at = email.lastIndexOf('@');
  }
  const domain = email.slice(at + 1);
  if (!MAY_MAP.test(domain)) return email;
  const mapped = unicodeDomain(domain);
  return mapped === domain ? email : email.slice(0, at + 1) + mapped;
}

/**
 * The spellings a canonical email may have been stored under before emails had one: itself, and with its domain in
 * punycode when that differs. For what cannot be rewritten (erasure tombstones hold a hash, not the address).
 */
export function emailSpellings(email: string): string[] {
  const at = email.lastIndexOf('@');
  if (at < 0) return [email];
  const domain = email.slice(at + 1);
  if (!MAY_MAP.test(domain)) return [email];
  const ascii = domainToASCII(domain);
  return ascii && ascii !== domain ? [email, email.slice(0, at + 1) + ascii] : [email];
}
