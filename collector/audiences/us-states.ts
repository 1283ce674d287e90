// US state and territory names → two-letter USPS/ANSI codes, for Meta's `st` key.
const STATES =
  'al alabama|ak alaska|az arizona|ar arkansas|ca california|co colorado|ct connecticut|de delaware|' +
  'dc district of columbia|fl florida|ga georgia|hi hawaii|id idaho|il illinois|in indiana|ia iowa|ks kansas|' +
  'ky kentucky|la louisiana|me maine|md maryland|ma massachusetts|mi michigan|mn minnesota|ms mississippi|' +
  'mo missouri|mt montana|ne nebraska|nv nevada|nh new hampshire|nj new jersey|nm new mexico|ny new york|' +
  'nc north carolina|nd north dakota|oh ohio|ok oklahoma|or oregon|pa pennsylvania|ri rhode island|' +
  'sc south carolina|sd south dakota|tn tennessee|tx texas|ut utah|vt vermont|va virginia|wa washington|' +
  'wv west virginia|wi wisconsin|wy wyoming|as american samoa|gu guam|mp northern mariana islands|' +
  'pr puerto rico|vi virgin islands';

/** Other ways the capital and the Virgin Islands are written out, as `STATES` entries. */
const ALIASES = 'dc washington dc|dc washington district of columbia|vi us virgin islands|vi united states virgin islands';

/** lower-case name without spaces ("newyork") → code ("ny") */
export const US_STATE_CODES: ReadonlyMap<string, string> = new Map(
  `${STATES}|${ALIASES}`.split('|').map((entry) => [entry.slice(3).replace(/\s/g, ''), entry.slice(0, 2)] as const),
);
export const US_STATE_CODE_SET: ReadonlySet<string> = new Set(US_STATE_CODES.values());
