// Key secrets: random, shown once, stored as SHA-256 hashes, compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const newId = (prefix: string, bytes = 9) => `${prefix}_${randomBytes(bytes).toString('base64url')}`;

/** A secret reads `fbk_<keyId>.<random>`: the key id finds the row, the hash proves the secret. */
export function newSecret(keyId: string): string {
  return `${keyId}.${randomBytes(24).toString('base64url')}`;
}

export const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The key id part of a presented secret, or null when it has no such shape. */
export function keyIdOf(secret: string): string | null {
  const dot = secret.indexOf('.');
  return dot > 0 && dot <= 64 ? secret.slice(0, dot) : null;
}
