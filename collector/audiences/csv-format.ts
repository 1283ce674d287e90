// Plain CSV of a segment: ids, email, stage, score and every export trait, unhashed, safe to open in a spreadsheet.
import { TRAIT_KEYS } from '../../shared/events.js';
import type { ExportFormat } from './audience-member.js';
import { csvCell, csvLine, csvNumber } from './csv-row.js';

export const CSV_HEADER = ['leadId', 'visitorId', 'email', 'stage', 'score', ...TRAIT_KEYS] as const;

export const csvFormat: ExportFormat = {
  name: 'csv',
  contentType: 'text/csv; charset=utf-8',
  fileExtension: 'csv',
  platform: null,
  needsVisitor: true,
  needsScore: true,
  begin: () => csvLine(CSV_HEADER.map(csvCell)),
  row: (m) =>
    csvLine([
      csvCell(m.leadId),
      csvCell(m.visitorId ?? ''),
      csvCell(m.email ?? ''),
      csvCell(m.stage),
      csvNumber(m.score),
      ...TRAIT_KEYS.map((k) => csvCell(m.traits[k])),
    ]),
  end: () => '',
};
