// Meta (Facebook) Custom Audience customer file: lower-case headers, every value SHA-256 hex of its normalized form.
import type { AudienceMember, ExportFormat } from './audience-member.js';
import { csvLine } from './csv-row.js';
import { hashTrait, hashValue } from './hash-value.js';
import { normalizeEmail } from './normalize-email.js';
import { normalizeNameForMeta } from './normalize-name.js';
import { toE164 } from './normalize-phone.js';
import { normalizeCountry } from './normalize-country.js';
import { normalizeCity, normalizeState, normalizeZipForMeta } from './normalize-address.js';

export const META_HEADER = ['email', 'phone', 'fn', 'ln', 'ct', 'st', 'zip', 'country'] as const;

/** Normalized (not yet hashed) values in header order: phone is E.164 digits without "+". */
export function metaNormalized(member: AudienceMember): string[] {
  const t = member.traits;
  const country = normalizeCountry(t.country);
  return [
    normalizeEmail(member.email ?? ''),
    toE164(t.phone, country).slice(1),
    normalizeNameForMeta(t.firstName),
    normalizeNameForMeta(t.lastName),
    normalizeCity(t.city),
    normalizeState(t.state, country),
    normalizeZipForMeta(t.zip, country),
    country.toLowerCase(),
  ];
}

/** The eight hashed cells (a trait a CRM already hashed passed on as it is); null when nothing is left to match on. */
export function metaCells(member: AudienceMember): string[] | null {
  const t = member.traits;
  const [email, phone, fn, ln, ct, st, zip, country] = metaNormalized(member);
  const cells = [
    hashValue(email!),
    hashTrait(t.phone, phone!),
    hashTrait(t.firstName, fn!),
    hashTrait(t.lastName, ln!),
    hashTrait(t.city, ct!),
    hashTrait(t.state, st!),
    hashTrait(t.zip, zip!),
    hashTrait(t.country, country!),
  ];
  return cells.some(Boolean) ? cells : null;
}

export const metaFormat: ExportFormat = {
  name: 'meta',
  contentType: 'text/csv; charset=utf-8',
  fileExtension: 'csv',
  platform: { name: 'Meta', minimum: 100 },
  needsVisitor: false,
  needsScore: false,
  begin: () => csvLine([...META_HEADER]),
  row(member) {
    const cells = metaCells(member);
    return cells && csvLine(cells); // hex digests and empty cells never need quoting
  },
  end: () => '',
};
