// SHA-256 hex of an already normalized value; an empty value stays an empty cell (never the hash of "").
import { createHash, hash } from 'node:crypto';

// crypto.hash (Node ≥ 20.12) is several times faster than createHash for short strings: exports hash millions.
const sha256Hex: (s: string) => string =
  typeof hash === 'function' ? (s) => hash('sha256', s, 'hex') : (s) => createHash('sha256').update(s, 'utf8').digest('hex');

export const hashValue = (normalized: string) => (normalized ? sha256Hex(normalized) : '');
