// Query-string times: ISO 8601 or epoch milliseconds, to epoch ms; anything else is null (the route answers 400).
export function parseTime(raw: string | undefined): number | null | undefined {
  if (raw === undefined || raw === '') return undefined;
  const s = raw.trim();
  if (/^-?\d{1,16}$/.test(s)) {
    const n = Number(s);
    return Number.isSafeInteger(n) && n >= 0 ? n : null;
  }
  // Date.parse accepts many shapes; only let ISO-looking strings through so "tomorrow" is not a time.
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(s)) return null;
  const t = Date.parse(s);
  return Number.isFinite(t) && t >= 0 ? t : null;
}
