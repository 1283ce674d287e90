// Shared text steps for the platform normalizers: Unicode form, punctuation and whitespace.

/**
 * Invisible format characters that copy and paste leave in a value: a soft hyphen from a hyphenated PDF, zero-width
 * spaces and word joiners, direction marks and embeddings, a BOM. Not the zero-width (non-)joiner, which Persian and
 * Indic scripts spell with.
 */
const INVISIBLE = /[\u00AD\u180E\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/g;

/** The value without invisible format characters ("Anna\u00ADbel" → "Annabel"). */
export const withoutInvisible = (raw: string) => raw.replace(INVISIBLE, '');

/** Invisible characters out, NFC so "é" typed two ways hashes the same; then trim and lower-case. */
export const lowerTrim = (raw: string) => withoutInvisible(raw).normalize('NFC').trim().toLowerCase();

/** Punctuation (\p{P}) and symbols (\p{S}): "o'brien-smith" → "obriensmith". Letters of any script stay. */
export const stripPunctuation = (text: string) => text.replace(/[\p{P}\p{S}]/gu, '');

export const stripWhitespace = (text: string) => text.replace(/\s+/gu, '');

export const collapseWhitespace = (text: string) => text.replace(/\s+/gu, ' ').trim();

/** Full-width digits, letters and dashes typed with a CJK input method → ASCII ("１００－０００１" → "100-0001"). */
export const toHalfWidth = (text: string) => withoutInvisible(text).normalize('NFKC');
