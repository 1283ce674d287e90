// First and last names before hashing: lower-case, no punctuation; Google also wants no spaces inside.
import { collapseWhitespace, lowerTrim, stripPunctuation, stripWhitespace } from './normalize-text.js';

/** Meta `fn`/`ln`: lower-case, punctuation removed, inner spaces collapsed to one ("Mary  Ann" → "mary ann"). */
export const normalizeNameForMeta = (raw: string) => collapseWhitespace(stripPunctuation(lowerTrim(raw)));

/** Google First/Last Name: lower-case, punctuation removed, every space removed ("Mary Ann" → "maryann"). */
export const normalizeNameForGoogle = (raw: string) => stripWhitespace(stripPunctuation(lowerTrim(raw)));

/** LinkedIn template text (names, job title, company): plain text, trimmed, spaces collapsed, cut to its field limit. */
export const normalizePlainText = (raw: string, maxLength: number) =>
  Array.from(collapseWhitespace(raw.normalize('NFC'))).slice(0, maxLength).join('').trim();

// Customer Match wants names without prefixes or suffixes ("Mrs.", "Jr."): a title before a first name and a
// generational or academic suffix after a last name are left out, when a name remains.
const TITLE = /^(?:mr|mrs|ms|miss|mx|dr|prof)\.?\s+(?=\S)/i;
const SUFFIX = /(?:,\s*|\s+)(?:jr|sr|ii|iii|iv|phd|md|esq)\.?$/i;

/** Google First Name: without a leading title ("Mrs. Ann" → "ann"). */
export const normalizeFirstNameForGoogle = (raw: string) => normalizeNameForGoogle(raw.trim().replace(TITLE, ''));

/** Google Last Name: without a trailing suffix ("King Jr." → "king", "Smith, PhD" → "smith"). */
export const normalizeLastNameForGoogle = (raw: string) => normalizeNameForGoogle(raw.trim().replace(SUFFIX, ''));
