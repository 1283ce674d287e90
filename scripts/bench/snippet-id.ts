// Ids as the snippet makes them (snippet/ids.ts): base36 milliseconds, then 12 random base36 characters.
import { randomBytes } from 'node:crypto';

export const snippetId = () => Date.now().toString(36) + Array.from(randomBytes(12), (b) => (b % 36).toString(36)).join('');
