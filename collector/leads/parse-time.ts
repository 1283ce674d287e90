// Query-string times: ISO 8601 or epoch milliseconds, to epoch ms; anything else is null (the route answers 400).
// A date and time without a zone is UTC, as a date alone is (never the server's local time: the same query must mean
// the same period on every collector); an offset whose `+` an unencoded query string turned into a space is read as `+`.
export function parseTime(raw: string | undefined): number | null | undefined {
  if (raw === undefined || raw === '') return undefined;
  const s = raw.trim();
  if (/^-?\d{1,16}$/.test(s)) {
    const n = Number(s);
    return Number.isSafeInteger(n) && n >= 0 ? n : null;
  }
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ]([\d:.]+)(?:(Z|[+-]\d{2}:?\d{2})| (\d{2}:?\d{2}))?)?$/i.exec(s);
  // Date.parse accepts many shapes; only let ISO-looking strings through so "tomorrow" is not a time.
  if (!m) return null;
  const [, date, time, zone, spaced] = m;
  const iso = time === undefined ? date : `${date}T${time}${zone ? zone.toUpperCase() : spaced ? '+' + spaced : 'Z'}`;
  const t = Date.parse(iso);
  return Number.isFinite(t) && t >= 0 ? t : null;
}
