// Streams a segment's members in one export format, a keyset page at a time, so memory stays flat at any size.
import type { Db } from '../storage/db.js';
import type { Log } from '../ops/log.js';
import { countAudienceMembers, hasSegment, listAudienceMembersPage, type AudienceMemberRow, type AudienceQuery } from '../storage/audience-members.js';
import type { AudienceMember, ExportFormat, ExportFormatName } from './audience-member.js';
import { EXPORT_FORMATS } from './export-formats.js';
import { readTraits } from './read-traits.js';
import { loadFunnelSettings } from '../segments/funnel-settings.js';
import { decayScore, roundScore, storedScore } from '../scoring/decay.js';

export const EXPORT_PAGE_SIZE = 1000;

export interface AudienceExport {
  format: ExportFormat;
  /** the body: pulled page by page as the client reads */
  stream: ReadableStream<Uint8Array>;
  /** members eligible for the platform file (counted before streaming); null for json/csv */
  count: number | null;
  /** set when a platform list is under its minimum size */
  warning: string | null;
}

export type ExportResult = { ok: true; value: AudienceExport } | { ok: false; reason: 'segment_not_found' };

export async function exportAudience(
  db: Db,
  log: Log,
  input: { siteId: string; segmentKey: string; format: ExportFormatName; pageSize?: number; now?: number },
): Promise<ExportResult> {
  if (!(await hasSegment(db, input.siteId, input.segmentKey))) return { ok: false, reason: 'segment_not_found' };
  const format = EXPORT_FORMATS[input.format];
  const query: AudienceQuery = { siteId: input.siteId, segmentKey: input.segmentKey, platform: format.platform !== null };
  const count = format.platform ? await countAudienceMembers(db, query) : null;
  const warning = format.platform && count !== null ? sizeWarning(format.platform.name, format.platform.minimum, count) : null;
  // scores as the lead API shows them: decayed by the site's half-life to one moment, the start of the export
  const scoring = format.needsScore ? { now: input.now ?? Date.now(), halfLifeMs: (await loadFunnelSettings(db, input.siteId)).halfLifeMs } : null;
  const stream = streamMembers(db, log, query, format, input.pageSize ?? EXPORT_PAGE_SIZE, scoring);
  return { ok: true, value: { format, stream, count, warning } };
}

/** The warning text when a list is below the platform's minimum, else null. */
export function sizeWarning(platform: string, minimum: number, count: number): string | null {
  return count < minimum ? `below ${platform}'s minimum of ${minimum} members (${count})` : null;
}

interface Scoring {
  now: number;
  halfLifeMs: number | null;
}

/** The score at `scoring.now`, rounded as the lead API rounds it (GET /api/leads/{ref} shows the same number). */
const scoreOf = (row: AudienceMemberRow, scoring: Scoring | null) =>
  scoring ? roundScore(decayScore(storedScore(row), row.score_at == null ? null : Number(row.score_at), scoring.now, scoring.halfLifeMs)) : 0;

function toMember(row: AudienceMemberRow, scoring: Scoring | null): AudienceMember {
  return {
    leadId: row.lead_id,
    visitorId: row.visitor_id ?? null,
    email: row.email,
    stage: row.stage,
    score: scoreOf(row, scoring),
    traits: readTraits(row.traits),
  };
}

function streamMembers(
  db: Db,
  log: Log,
  query: AudienceQuery,
  format: ExportFormat,
  pageSize: number,
  scoring: Scoring | null,
): ReadableStream<Uint8Array> {
  let afterLeadId = '';
  let rowsWritten = 0;
  let started = false;
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    // Called only when the reader wants more: one page is read from the database per call (backpressure).
    async pull(controller) {
      try {
        if (!started) {
          started = true;
          controller.enqueue(Buffer.from(format.begin(query.segmentKey)));
          return;
        }
        // Loop until something is enqueued: a page whose members were all skipped must not stall the stream.
        while (!cancelled) {
          const page = await listAudienceMembersPage(db, { ...query, afterLeadId, limit: pageSize, withVisitor: format.needsVisitor, withScore: format.needsScore });
          let chunk = '';
          for (const row of page) {
            const line = format.row(toMember(row, scoring), rowsWritten);
            if (line !== null) {
              chunk += line;
              rowsWritten++;
            }
          }
          if (page.length > 0) afterLeadId = page[page.length - 1].lead_id;
          if (page.length < pageSize) {
            controller.enqueue(Buffer.from(chunk + format.end(rowsWritten)));
            controller.close();
            return;
          }
          if (chunk) {
            controller.enqueue(Buffer.from(chunk));
            return;
          }
        }
      } catch (err) {
        log.error('audience export failed', { segment: query.segmentKey, format: format.name, error: (err as Error).message });
        controller.error(err);
      }
    },
    cancel() {
      cancelled = true;
    },
  });
}
