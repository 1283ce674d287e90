// Postal code rules per country (alpha-2), as data for the zip normalizers.

/**
 * The spelling a country's post uses, for Google's clear Zip column: [pattern over the code in upper case without
 * spaces or dashes, replacement]. UK, Canadian and Dutch codes are written with one space ("sw1a1aa" → "SW1A 1AA",
 * "1234ab" → "1234 AB"), and so are the five digits of Sweden, Czechia, Slovakia and Greece ("11455" → "114 55");
 * Poland, Portugal, Japan and Brazil write a dash ("00950" → "00-950", "1000001" → "1000-001" in Portugal,
 * "100-0001" in Japan, "01310100" → "01310-100").
 */
export const POSTAL_SPELLINGS: Readonly<Record<string, readonly [RegExp, string]>> = {
  GB: [/^([A-Z]{1,2}\d[A-Z\d]?)(\d[A-Z]{2})$/, '$1 $2'],
  GG: [/^(GY\d\d?)(\d[A-Z]{2})$/, '$1 $2'],
  IM: [/^(IM\d\d?)(\d[A-Z]{2})$/, '$1 $2'],
  JE: [/^(JE\d)(\d[A-Z]{2})$/, '$1 $2'],
  CA: [/^([A-Z]\d[A-Z])(\d[A-Z]\d)$/, '$1 $2'],
  NL: [/^([1-9]\d{3})([A-Z]{2})$/, '$1 $2'],
  SE: [/^(\d{3})(\d{2})$/, '$1 $2'],
  CZ: [/^(\d{3})(\d{2})$/, '$1 $2'],
  SK: [/^(\d{3})(\d{2})$/, '$1 $2'],
  GR: [/^(\d{3})(\d{2})$/, '$1 $2'],
  PL: [/^(\d{2})(\d{3})$/, '$1-$2'],
  PT: [/^(\d{4})(\d{3})$/, '$1-$2'],
  JP: [/^(\d{3})(\d{4})$/, '$1-$2'],
  BR: [/^(\d{5})(\d{3})$/, '$1-$2'],
};

/**
 * Letters that older European address styles write before a postal code ("D-10115", "F-75008", "CH-8001"): the
 * country's international vehicle code or its alpha-2 code. They are not part of the code and are dropped, only
 * for the lead's own country.
 */
export const POSTAL_COUNTRY_PREFIXES: Readonly<Record<string, readonly string[]>> = {
  DE: ['D', 'DE'], AT: ['A', 'AT'], CH: ['CH'], LI: ['FL', 'LI'], FR: ['F', 'FR'], BE: ['B', 'BE'], LU: ['L', 'LU'],
  NL: ['NL'], IT: ['I', 'IT'], ES: ['E', 'ES'], PT: ['P', 'PT'], PL: ['PL'], CZ: ['CZ'], SK: ['SK'], HU: ['H', 'HU'],
  DK: ['DK'], SE: ['S', 'SE'], NO: ['N', 'NO'], FI: ['FIN', 'FI'], GR: ['GR'], SI: ['SLO', 'SI'], HR: ['HR'],
};
