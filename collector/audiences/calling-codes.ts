// Country calling codes (ITU E.164) by ISO-3166 alpha-2, and national trunk prefixes: data for toE164.

const TABLE =
  'AD376 AE971 AF93 AG1 AI1 AL355 AM374 AO244 AQ672 AR54 AS1 AT43 AU61 AW297 AX358 AZ994 ' +
  'BA387 BB1 BD880 BE32 BF226 BG359 BH973 BI257 BJ229 BL590 BM1 BN673 BO591 BQ599 BR55 BS1 BT975 BW267 BY375 BZ501 ' +
  'CA1 CC61 CD243 CF236 CG242 CH41 CI225 CK682 CL56 CM237 CN86 CO57 CR506 CU53 CV238 CW599 CX61 CY357 CZ420 ' +
  'DE49 DJ253 DK45 DM1 DO1 DZ213 EC593 EE372 EG20 EH212 ER291 ES34 ET251 FI358 FJ679 FK500 FM691 FO298 FR33 ' +
  'GA241 GB44 GD1 GE995 GF594 GG44 GH233 GI350 GL299 GM220 GN224 GP590 GQ240 GR30 GT502 GU1 GW245 GY592 ' +
  'HK852 HN504 HR385 HT509 HU36 ID62 IE353 IL972 IM44 IN91 IO246 IQ964 IR98 IS354 IT39 JE44 JM1 JO962 JP81 ' +
  'KE254 KG996 KH855 KI686 KM269 KN1 KP850 KR82 KW965 KY1 KZ7 LA856 LB961 LC1 LI423 LK94 LR231 LS266 LT370 LU352 LV371 LY218 ' +
  'MA212 MC377 MD373 ME382 MF590 MG261 MH692 MK389 ML223 MM95 MN976 MO853 MP1 MQ596 MR222 MS1 MT356 MU230 MV960 MW265 MX52 MY60 MZ258 ' +
  'NA264 NC687 NE227 NF672 NG234 NI505 NL31 NO47 NP977 NR674 NU683 NZ64 OM968 ' +
  'PA507 PE51 PF689 PG675 PH63 PK92 PL48 PM508 PN64 PR1 PS970 PT351 PW680 PY595 QA974 RE262 RO40 RS381 RU7 RW250 ' +
  'SA966 SB677 SC248 SD249 SE46 SG65 SH290 SI386 SJ47 SK421 SL232 SM378 SN221 SO252 SR597 SS211 ST239 SV503 SX1 SY963 SZ268 ' +
  'TC1 TD235 TG228 TH66 TJ992 TK690 TL670 TM993 TN216 TO676 TR90 TT1 TV688 TW886 TZ255 UA380 UG256 US1 UY598 UZ998 ' +
  'VA39 VC1 VE58 VG1 VI1 VN84 VU678 WF681 WS685 XK383 YE967 YT262 ZA27 ZM260 ZW263';

/** alpha-2 → calling code digits, e.g. DE → "49" */
export const CALLING_CODES: ReadonlyMap<string, string> = new Map(
  TABLE.split(' ').map((entry) => [entry.slice(0, 2), entry.slice(2)] as const),
);

/** calling code digits → the alpha-2 countries that share it, e.g. "44" → GB, GG, IM, JE */
export const COUNTRIES_BY_CALLING_CODE: ReadonlyMap<string, readonly string[]> = [...CALLING_CODES].reduce(
  (byCode, [country, code]) => byCode.set(code, [...(byCode.get(code) ?? []), country]),
  new Map<string, string[]>(),
);

/**
 * The national trunk prefix dropped before the calling code is added ("030 1234" in DE → +49301234).
 * Default "0". Italy, San Marino, the Vatican, Côte d'Ivoire (10-digit numbers since 2021) and Benin (10 digits
 * beginning "01" since 30 November 2024) keep the leading 0 inside E.164; Hungary dials 06 ("06 1 234 5678" → +3612345678).
 * NANP countries (calling code 1) are handled by length: an 11-digit national number starting with 1 drops it.
 * Countries whose trunk prefix is 8, and Mexico, are in FIXED_LENGTH_TRUNKS instead.
 */
export const TRUNK_PREFIXES: Readonly<Record<string, string>> = { IT: '', SM: '', VA: '', CI: '', BJ: '', HU: '06' };
export const DEFAULT_TRUNK_PREFIX = '0';

/**
 * Countries whose prefixes look like the start of a number: the trunk prefix 8 (St Petersburg is 8 812 …, +7 812 …;
 * Lithuanian toll-free 8 800 …, +370 800 …), Mexico's abolished 01, 044, 045 and "+52 1". Every ordinary number there
 * (mobile and geographic) has one national length: ten digits after +7 (Russia and Kazakhstan share zone 7), nine
 * after +375, eight after +370, ten after +52. So a prefix is dropped only when exactly that many digits follow it
 * and they do not begin with 0, and the calling code followed by that many (after a prefix or not) is the
 * international form written without "+" ("7 912 …", "521 55 …").
 * Belarus dials "8 0XX …" (the area code written with its 0), also written "0XX …"; Lithuania replaced 8 with 0 in
 * 2024-2025 (8 switched off 1 March 2025), and CRM data holds both. Mexico dials all ten digits since 3 August 2019.
 */
export const FIXED_LENGTH_TRUNKS: Readonly<Record<string, { readonly prefixes: readonly string[]; readonly length: number }>> = {
  RU: { prefixes: ['8'], length: 10 },
  KZ: { prefixes: ['8'], length: 10 },
  BY: { prefixes: ['80', '8', '0'], length: 9 },
  LT: { prefixes: ['8', '0'], length: 8 },
  MX: { prefixes: ['044', '045', '01', '02', '1'], length: 10 },
};
