// First and last names before hashing: lower-case, no punctuation; Google also wants no spaces inside.
import { collapseWhitespace, lowerTrim, stripPunctuation, stripWhitespace } from './normalize-text.js';

/** Meta `fn`/`ln`: lower-case, punctuation removed, inner spaces collapsed to one ("Mary  Ann" → "mary ann"). */
export const normalizeNameForMeta = (raw: string) => collapseWhitespace(stripPunctuation(lowerTrim(raw)));

/** Google First/Last Name: lower-case, punctuation removed, every space removed ("Mary Ann" → "maryann"). */
export const normalizeNameForGoogle = (raw: string) => stripWhitespace(stripPunctuation(lowerTrim(raw)));

/** LinkedIn template text (names, job title, company): plain text, trimmed, spaces collapsed, cut to its field limit. */
export const normalizePlainText = (raw: string, maxLength: number) =>
  Array.from(collapseWhitespace(raw.normalize('NFC'))).slice(0, maxLength).join('').trim();

// Customer Match wants names without prefixes or suffixes ("Mrs.", "Jr."): titles before a first name (several, as
// in the German "Herr Prof. Dr.") and a generational or academic suffix after a last name are left out, when a name
// remains. Salutations of the markets we serve are titles too; each is matched with or without its dots.
const TITLES = ['mr', 'mrs', 'ms', 'miss', 'mx', 'dr', 'prof', 'herr', 'frau', 'dipl-ing', 'dipl-kfm', 'mme', 'mlle', 'sr', 'sra', 'srta', 'dra', 'dott'];
const TITLE = new RegExp(`^(?:(?:${TITLES.map((t) => t.replace(/-/g, '\\.?-') + '\\.?').join('|')})\\s+)+(?=\\S)`, 'i');
const SUFFIX = /(?:,\s*|\s+)(?:jr|sr|ii|iii|iv|phd|md|esq)\.?$/i;

/** Google First Name: without leading titles ("Mrs. Ann" → "ann", "Herr Dipl.-Ing. Hans" → "hans"). */
export const normalizeFirstNameForGoogle = (raw: string) => normalizeNameForGoogle(raw.trim().replace(TITLE, ''));

/** Google Last Name: without a trailing suffix ("King Jr." → "king", "Smith, PhD" → "smith"). */
export const normalizeLastNameForGoogle = (raw: string) => normalizeNameForGoogle(raw.trim().replace(SUFFIX, ''));
