// First and last names before hashing: lower-case, no punctuation; Google also wants no spaces inside.
import { collapseWhitespace, lowerTrim, stripPunctuation, stripWhitespace, withoutInvisible } from './normalize-text.js';

/** Meta `fn`/`ln`: lower-case, punctuation removed, inner spaces collapsed to one ("Mary  Ann" → "mary ann"). */
export const normalizeNameForMeta = (raw: string) => collapseWhitespace(stripPunctuation(lowerTrim(raw)));

/** Google First/Last Name: lower-case, punctuation removed, every space removed ("Mary Ann" → "maryann"). */
export const normalizeNameForGoogle = (raw: string) => stripWhitespace(stripPunctuation(lowerTrim(raw)));

/** LinkedIn template text (names, job title, company): plain text, trimmed, spaces collapsed, cut to its field limit. */
export const normalizePlainText = (raw: string, maxLength: number) =>
  Array.from(collapseWhitespace(withoutInvisible(raw).normalize('NFC'))).slice(0, maxLength).join('').trim();

// Customer Match wants names without prefixes or suffixes ("Mrs.", "Jr."): titles before a first name (several, as
// in the German "Herr Prof. Dr." or the Czech "Ing. Mgr.") and a generational or academic suffix after a last name
// are left out, when a name remains. Salutations of the markets we serve are titles too; each is matched with or
// without its dots ("sig.ra": "Sig.ra" or "Sigra"). Hungarian writes "dr." before the family name ("dr. Kovács"):
// academic titles before a last name are left out too (not salutations: "Herr" and "Mag" begin family names).
const ACADEMIC = ['dr', 'prof', 'dipl-ing', 'dipl-kfm', 'dott', 'ing', 'mgr', 'bc', 'mudr', 'judr', 'phdr', 'rndr'];
const SALUTATIONS = [
  'mr', 'mrs', 'ms', 'miss', 'mx', 'herr', 'frau', 'hr', 'fr', 'mag', 'mme', 'mlle', 'sr', 'sra', 'srta', 'dra',
  'sig', 'sig.ra', 'dhr', 'mevr',
];
/** One or more of the titles, each with or without its dots, then the name. */
const titlesBefore = (titles: readonly string[]) => {
  const alternatives = titles.map((t) => t.replace(/[-.]/g, (c) => (c === '-' ? '\\.?-' : '\\.?')) + '\\.?');
  return new RegExp(`^(?:(?:${alternatives.join('|')})\\s+)+(?=\\S)`, 'i');
};
const TITLE = titlesBefore([...SALUTATIONS, ...ACADEMIC]);
const ACADEMIC_TITLE = titlesBefore(ACADEMIC);
const SUFFIX = /(?:,\s*|\s+)(?:jr|sr|ii|iii|iv|phd|md|esq)\.?$/i;

/** Google First Name: without leading titles ("Mrs. Ann" → "ann", "Herr Dipl.-Ing. Hans" → "hans"). */
export const normalizeFirstNameForGoogle = (raw: string) => normalizeNameForGoogle(raw.trim().replace(TITLE, ''));

/** Google Last Name: without a leading academic title or a trailing suffix ("King Jr." → "king", "dr. Kovács" → "kovács"). */
export const normalizeLastNameForGoogle = (raw: string) =>
  normalizeNameForGoogle(raw.trim().replace(ACADEMIC_TITLE, '').replace(SUFFIX, ''));
