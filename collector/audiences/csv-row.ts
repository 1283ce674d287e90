// CSV lines per RFC 4180 (CRLF, quoted when needed) with spreadsheet-formula injection defused.

/** A cell a spreadsheet would run as a formula starts with one of these (OWASP CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;

/** Text cell: a formula-looking value gets a leading "'"; then RFC 4180 quoting if it holds , " CR or LF. */
export function csvCell(value: string): string {
  const safe = FORMULA_START.test(value) ? "'" + value : value;
  return /[",\r\n]/.test(safe) ? '"' + safe.replace(/"/g, '""') + '"' : safe;
}

/** Numbers we format ourselves (scores) cannot carry a formula, so "-5" stays a number. */
export const csvNumber = (value: number) => (Number.isFinite(value) ? String(value) : '');

/** One record ending in CRLF; cells are already encoded with csvCell/csvNumber. */
export const csvLine = (cells: readonly string[]) => cells.join(',') + '\r\n';

export const csvRow = (values: readonly string[]) => csvLine(values.map(csvCell));
