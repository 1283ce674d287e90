// SHA-256 hex of an already normalized value; an empty value stays an empty cell (never the hash of "").
import { createHash } from 'node:crypto';

export const hashValue = (normalized: string) => (normalized ? createHash('sha256').update(normalized, 'utf8').digest('hex') : '');
