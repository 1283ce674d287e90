// What an export reads per segment member, and what every export format provides.
import type { TraitKey } from '../../shared/events.js';

export type Traits = Record<TraitKey, string>;

export interface AudienceMember {
  leadId: string;
  /** the lead's most recent visitor (json/csv only; null when not read or none) */
  visitorId: string | null;
  email: string | null;
  stage: string;
  /** as GET /api/leads/{ref} shows it: decayed to the time of the export (0 when the format has no score column) */
  score: number;
  traits: Traits;
}

export type ExportFormatName = 'json' | 'csv' | 'google' | 'meta' | 'linkedin';

/** An ad platform's upload rules that the export enforces or warns about. */
export interface PlatformRules {
  name: string;
  /** the platform's smallest useful list; fewer members → a Funnelbeam-Warning header */
  minimum: number;
}

export interface ExportFormat {
  name: ExportFormatName;
  contentType: string;
  fileExtension: 'json' | 'csv';
  /** set for ad-platform files: identified, non-customer, opted-in leads only */
  platform: PlatformRules | null;
  /** whether rows need the lead's latest visitor id (costs a lookup per row) */
  needsVisitor: boolean;
  /** whether rows show the score (read exactly from the lead's fold state and decayed to the export's time) */
  needsScore: boolean;
  begin(segmentKey: string): string;
  /** the encoded row, or null to skip a member with nothing to match on; `index` counts rows written so far */
  row(member: AudienceMember, index: number): string | null;
  end(rowsWritten: number): string;
}
