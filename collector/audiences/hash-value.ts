// SHA-256 hex of an already normalized value; an empty value stays an empty cell (never the hash of "").
import { createHash, hash } from 'node:crypto';

// crypto.hash (Node ≥ 20.12) is several times faster than createHash for short strings: exports hash millions.
const sha256Hex: (s: string) => string =
  typeof hash === 'function' ? (s) => hash('sha256', s, 'hex') : (s) => createHash('sha256').update(s, 'utf8').digest('hex');

export const hashValue = (normalized: string) => (normalized ? sha256Hex(normalized) : '');

const SHA256_HEX = /^[0-9a-f]{64}$/i;

/**
 * A trait a CRM already hashed (a SHA-256 hex digest: no phone, name, city or postal code looks like one). It goes
 * into a hashed column as it is, lower-case, never hashed twice; a clear column cannot carry it and stays empty.
 */
export const isSha256Hex = (raw: string) => SHA256_HEX.test(raw.trim());

/** The hashed cell of a trait: its digest as given, or the hash of its normalized form. */
export const hashTrait = (raw: string, normalized: string) => (isSha256Hex(raw) ? raw.trim().toLowerCase() : hashValue(normalized));

/** A clear (unhashed) cell of a trait: empty when the trait is a digest. */
export const clearTrait = (raw: string, normalized: string) => (isSha256Hex(raw) ? '' : normalized);
