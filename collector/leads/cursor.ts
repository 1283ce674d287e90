// Opaque keyset cursors: a small JSON tuple in base64url, checked against the shape the reader expects.
import { createHash } from 'node:crypto';

export type CursorPart = string | number;

/**
 * A short fingerprint of what a lead list cursor pages (site, order, filters), carried as its last part: a cursor used
 * with other filters or another site's key would be a valid position in another list and silently skip leads there.
 */
export function cursorScope(...scope: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(scope)).digest('base64url').slice(0, 12);
}

export function encodeCursor(parts: readonly CursorPart[]): string {
  return Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');
}

/** The cursor's parts when it has exactly the expected shape, else null (a client-made or stale cursor is a 400). */
export function decodeCursor(cursor: string, shape: ReadonlyArray<'string' | 'number'>): CursorPart[] | null {
  if (cursor.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(parts) || parts.length !== shape.length) return null;
  for (let i = 0; i < shape.length; i++) {
    const p = parts[i];
    if (shape[i] === 'number' ? typeof p !== 'number' || !Number.isFinite(p) : typeof p !== 'string') return null;
  }
  return parts as CursorPart[];
}
