// Query-string times: ISO 8601 or epoch milliseconds, to epoch ms; anything else is null (the route answers 400).
// A date and time without a zone is UTC, as a date alone is (never the server's local time: the same query must mean
// the same period on every collector); an offset whose `+` an unencoded query string turned into a space is read as `+`,
// and an offset of hours alone (`+01`) as whole hours.
// A date the calendar does not have (30 February, 29 February of a common year, 31 April) is null: Date.parse would
// roll it over into the next month, and a report would silently read another period than the one asked for.
/** The last instant a Date holds (ECMAScript: 8.64e15 ms after the epoch). */
const MAX_TIME = 8_640_000_000_000_000;

export function parseTime(raw: string | undefined): number | null | undefined {
  if (raw === undefined || raw === '') return undefined;
  const s = raw.trim();
  if (/^-?\d{1,16}$/.test(s)) {
    const n = Number(s);
    // beyond the last instant a Date holds (+275760-09-13) a time cannot be shown, or compared with a stored one
    return Number.isSafeInteger(n) && n >= 0 && n <= MAX_TIME ? n : null;
  }
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ]([\d:.]+)(?:(Z|[+-]\d{2}(?::?\d{2})?)| (\d{2}(?::?\d{2})?))?)?$/i.exec(s);
  // Date.parse accepts many shapes; only let ISO-looking strings through so "tomorrow" is not a time.
  if (!m) return null;
  const [, date, time, zone, spaced] = m;
  if (!isCalendarDate(date)) return null;
  // an offset of hours alone (`+01`, as PostgreSQL prints a timestamptz, and as POST /api/events takes an `at`) is
  // ISO 8601 too; Date.parse wants its minutes
  const offset = zone ? zone.toUpperCase() : spaced ? '+' + spaced : 'Z';
  const iso = time === undefined ? date : `${date}T${time}${/^[+-]\d{2}$/.test(offset) ? offset + ':00' : offset}`;
  const t = Date.parse(iso);
  return Number.isFinite(t) && t >= 0 ? t : null;
}

/** `YYYY-MM-DD` names a day that exists: month 1–12, day 1 to the month's last (29 February in leap years only). */
function isCalendarDate(date: string): boolean {
  const [y, mo, d] = date.split('-').map(Number);
  if (mo < 1 || mo > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
}
