// JSON of a segment, written piecewise: `count` comes last so it is exactly the number of members streamed.
import type { ExportFormat } from './audience-member.js';

export const jsonFormat: ExportFormat = {
  name: 'json',
  contentType: 'application/json; charset=utf-8',
  fileExtension: 'json',
  platform: null,
  needsVisitor: true,
  needsScore: true,
  begin: (segmentKey) => `{"segment":${JSON.stringify(segmentKey)},"members":[`,
  row: (m, index) =>
    (index > 0 ? ',' : '') +
    JSON.stringify({ leadId: m.leadId, visitorId: m.visitorId, email: m.email, stage: m.stage, score: m.score }),
  end: (rowsWritten) => `],"count":${rowsWritten}}`,
};
