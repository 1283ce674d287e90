// Google Ads Customer Match CSV: exact English headers, SHA-256 of email/phone/names, Country and Zip in clear.
import type { AudienceMember, ExportFormat } from './audience-member.js';
import { csvLine, csvCell } from './csv-row.js';
import { clearTrait, hashTrait, hashValue } from './hash-value.js';
import { normalizeEmail } from './normalize-email.js';
import { normalizeFirstNameForGoogle, normalizeLastNameForGoogle } from './normalize-name.js';
import { toE164 } from './normalize-phone.js';
import { normalizeCountry } from './normalize-country.js';
import { normalizeZipForGoogle } from './normalize-address.js';

export const GOOGLE_HEADER = ['Email', 'Phone', 'First Name', 'Last Name', 'Country', 'Zip'] as const;

/** The six cells of one member; null when it has neither email, phone nor a complete address to match on. */
export function googleCells(member: AudienceMember): string[] | null {
  const t = member.traits;
  const country = normalizeCountry(t.country);
  const cells = [
    hashValue(normalizeEmail(member.email ?? '')),
    hashTrait(t.phone, toE164(t.phone, country)),
    hashTrait(t.firstName, normalizeFirstNameForGoogle(t.firstName)),
    hashTrait(t.lastName, normalizeLastNameForGoogle(t.lastName)),
    country,
    clearTrait(t.zip, normalizeZipForGoogle(t.zip, country)),
  ];
  const [email, phone, first, last, , zip] = cells;
  const fullAddress = !!(first && last && country && zip);
  return email || phone || fullAddress ? cells : null;
}

export const googleFormat: ExportFormat = {
  name: 'google',
  contentType: 'text/csv; charset=utf-8',
  fileExtension: 'csv',
  platform: { name: 'Google', minimum: 0 },
  needsVisitor: false,
  needsScore: false,
  begin: () => csvLine([...GOOGLE_HEADER]),
  row(member) {
    const cells = googleCells(member);
    return cells && csvLine(cells.map(csvCell));
  },
  end: () => '',
};
