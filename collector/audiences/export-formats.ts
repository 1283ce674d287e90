// The export formats by name, as GET /api/segments/{key}/members?format= accepts them.
import type { ExportFormat, ExportFormatName } from './audience-member.js';
import { jsonFormat } from './json-format.js';
import { csvFormat } from './csv-format.js';
import { googleFormat } from './google-format.js';
import { metaFormat } from './meta-format.js';
import { linkedinFormat } from './linkedin-format.js';

export const EXPORT_FORMATS: Readonly<Record<ExportFormatName, ExportFormat>> = {
  json: jsonFormat,
  csv: csvFormat,
  google: googleFormat,
  meta: metaFormat,
  linkedin: linkedinFormat,
};

export const EXPORT_FORMAT_NAMES = Object.keys(EXPORT_FORMATS) as ExportFormatName[];
