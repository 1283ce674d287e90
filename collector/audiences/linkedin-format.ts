// LinkedIn Matched Audiences contact list: template headers, hashed email, plain-text names/title/company.
import type { AudienceMember, ExportFormat } from './audience-member.js';
import { csvLine, csvCell } from './csv-row.js';
import { clearTrait, hashValue } from './hash-value.js';
import { normalizeEmail } from './normalize-email.js';
import { normalizePlainText } from './normalize-name.js';
import { normalizeCountry } from './normalize-country.js';

export const LINKEDIN_HEADER = ['email', 'firstname', 'lastname', 'jobtitle', 'employeecompany', 'country', 'googleaid'] as const;

/**
 * LinkedIn accepts emails in clear or SHA-256 and hashes clear ones itself; we send the hash.
 * Names, job title and company are matched as text, so they go in clear, cut to LinkedIn's field
 * limits (35 for names, 50 for title and company). We have no Google advertising id: that column stays empty.
 */
export function linkedinCells(member: AudienceMember): string[] | null {
  const t = member.traits;
  const cells = [
    hashValue(normalizeEmail(member.email ?? '')),
    clearTrait(t.firstName, normalizePlainText(t.firstName, 35)),
    clearTrait(t.lastName, normalizePlainText(t.lastName, 35)),
    clearTrait(t.jobTitle, normalizePlainText(t.jobTitle, 50)),
    clearTrait(t.company, normalizePlainText(t.company, 50)),
    normalizeCountry(t.country),
    '',
  ];
  return cells.some(Boolean) ? cells : null;
}

export const linkedinFormat: ExportFormat = {
  name: 'linkedin',
  contentType: 'text/csv; charset=utf-8',
  fileExtension: 'csv',
  platform: { name: 'LinkedIn', minimum: 300 },
  needsVisitor: false,
  needsScore: false,
  begin: () => csvLine([...LINKEDIN_HEADER]),
  row(member) {
    const cells = linkedinCells(member);
    return cells && csvLine(cells.map(csvCell));
  },
  end: () => '',
};
