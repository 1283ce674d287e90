// Tells what a `{ref}` path segment names: an email (has an @) or an id (lead or visitor, decided by lookup).
import { canonicalEmail } from '../identity/canonical-email.js';

export type LeadRef = { kind: 'email'; email: string } | { kind: 'id'; id: string };

export type RefProblem = { problem: string };

// Control characters and a backslash never belong in an id or an email. A slash is in no id (ID below), but an
// email may hold one (`sales/emea@example.com`, valid and accepted at ingest), sent as %2F in the path. Dot-dot is in
// no id either, but an email may hold it: browsers' email fields and ingest take `john..doe@example.com`, and that
// lead must be readable and erasable by its email. A ref is a lookup key, never a path: its dots traverse nothing.
const FORBIDDEN = /[\u0000-\u001f\u007f\u0080-\u009f\\]/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
const ID = /^[A-Za-z0-9._:~+=-]{1,128}$/;

/** Classifies a URL-decoded ref by shape; the lookup happens in storage. */
export function parseRef(raw: string): LeadRef | RefProblem {
  if (raw.length === 0) return { problem: 'ref is empty' };
  if (raw.length > 320) return { problem: 'ref is longer than 320 characters' };
  if (FORBIDDEN.test(raw)) return { problem: 'ref contains control characters or a backslash' };
  if (raw.includes('@')) {
    const email = canonicalEmail(raw);
    return EMAIL.test(email) ? { kind: 'email', email } : { problem: 'ref looks like an email but is not one' };
  }
  // spaces around an id pasted from a CRM field are not part of it, as they are not part of an email
  const id = raw.trim();
  if (id.includes('..')) return { problem: 'ref contains ".." (no id does)' };
  return ID.test(id) ? { kind: 'id', id } : { problem: 'ref is neither an email nor an id' };
}

export const isRefProblem = (r: LeadRef | RefProblem): r is RefProblem => 'problem' in r;
