// First and last names before hashing: lower-case, no punctuation; Google also wants no spaces inside.
import { collapseWhitespace, lowerTrim, stripPunctuation, stripWhitespace } from './normalize-text.js';

/** Meta `fn`/`ln`: lower-case, punctuation removed, inner spaces collapsed to one ("Mary  Ann" → "mary ann"). */
export const normalizeNameForMeta = (raw: string) => collapseWhitespace(stripPunctuation(lowerTrim(raw)));

/** Google First/Last Name: lower-case, punctuation removed, every space removed ("Mary Ann" → "maryann"). */
export const normalizeNameForGoogle = (raw: string) => stripWhitespace(stripPunctuation(lowerTrim(raw)));

/** LinkedIn template text (names, job title, company): plain text, trimmed, spaces collapsed, cut to its field limit. */
export const normalizePlainText = (raw: string, maxLength: number) =>
  Array.from(collapseWhitespace(raw.normalize('NFC'))).slice(0, maxLength).join('').trim();
