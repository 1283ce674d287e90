// Country names as forms and CRMs write them ("Deutschland", "United Kingdom", "日本") → ISO-3166 alpha-2.
import { CALLING_CODES } from './calling-codes.js';

/**
 * The languages whose country names are read, from the runtime's CLDR data (Intl.DisplayNames): those of the
 * markets our sites sell in. A name that means two countries in two languages is dropped, never guessed.
 */
export const COUNTRY_NAME_LANGUAGES = [
  'en', 'de', 'fr', 'es', 'pt', 'it', 'nl', 'pl', 'tr', 'ja', 'zh', 'ko', 'ru', 'sv', 'da', 'cs', 'hu', 'fi', 'el', 'hr',
];

/** Spellings CLDR does not list but people write, each meaning exactly one country. */
export const EXTRA_COUNTRY_NAMES: Readonly<Record<string, string>> = {
  UK: 'GB', 'Great Britain': 'GB', Britain: 'GB', England: 'GB', Scotland: 'GB', Wales: 'GB', 'Northern Ireland': 'GB',
  USA: 'US', 'United States of America': 'US', Turkey: 'TR', 'Czech Republic': 'CZ', Holland: 'NL',
  'The Netherlands': 'NL', 'Republic of Korea': 'KR', 'Russian Federation': 'RU', 'Viet Nam': 'VN', 'Ivory Coast': 'CI',
  UAE: 'AE', 'Hong Kong': 'HK', 'Hong Kong SAR': 'HK', Macau: 'MO', Macao: 'MO', 'Korea, Republic of': 'KR',
  Großbritannien: 'GB', 'Bundesrepublik Deutschland': 'DE', 'Federal Republic of Germany': 'DE', Éire: 'IE',
  Weißrussland: 'BY', Белоруссия: 'BY',
};

/** Letters Unicode does not decompose into a base letter and a mark, written without it on a keyboard that lacks them. */
const STROKED: Readonly<Record<string, string>> = { đ: 'd', ł: 'l', ø: 'o', ħ: 'h' };

/**
 * The lookup key of a name: compatibility form, no accents or marks, lower-case, letters and digits only; a stroked
 * letter is its base letter too ("Mađarska" and "Madarska", "Włochy" and "Wlochy", "Østrig" and "Ostrig").
 */
export const countryNameKey = (name: string) =>
  name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[đłøħ]/g, (letter) => STROKED[letter]!)
    .replace(/[^\p{L}\p{N}]/gu, '');

let byKey: Map<string, string> | null = null;

/** The alpha-2 code a country name means, or "" (built on first use: some 4,000 CLDR look-ups). */
export function countryFromName(name: string): string {
  byKey ??= buildCountryNames();
  return byKey.get(countryNameKey(name)) ?? '';
}

function buildCountryNames(): Map<string, string> {
  const names = new Map<string, string>();
  const ambiguous = new Set<string>();
  for (const language of COUNTRY_NAME_LANGUAGES) {
    const display = new Intl.DisplayNames([language], { type: 'region', fallback: 'none' });
    for (const code of CALLING_CODES.keys()) {
      const name = display.of(code);
      if (!name) continue;
      const key = countryNameKey(name);
      if (names.has(key) && names.get(key) !== code) ambiguous.add(key);
      else names.set(key, code);
    }
  }
  for (const key of ambiguous) names.delete(key);
  for (const [name, code] of Object.entries(EXTRA_COUNTRY_NAMES)) names.set(countryNameKey(name), code);
  return names;
}
