// Shared text steps for the platform normalizers: Unicode form, punctuation and whitespace.

/** NFC first so "é" typed two ways hashes the same; then trim and lower-case. */
export const lowerTrim = (raw: string) => raw.normalize('NFC').trim().toLowerCase();

/** Punctuation (\p{P}) and symbols (\p{S}): "o'brien-smith" → "obriensmith". Letters of any script stay. */
export const stripPunctuation = (text: string) => text.replace(/[\p{P}\p{S}]/gu, '');

export const stripWhitespace = (text: string) => text.replace(/\s+/gu, '');

export const collapseWhitespace = (text: string) => text.replace(/\s+/gu, ' ').trim();

/** Full-width digits, letters and dashes typed with a CJK input method → ASCII ("１００－０００１" → "100-0001"). */
export const toHalfWidth = (text: string) => text.normalize('NFKC');
