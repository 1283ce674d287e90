// README (Addresses are redacted): a query value "whose value is a JSON Web Token (`eyJ….….…`, a magic sign-in link's
// `?t=`), becomes `[redacted]` …; so does such a value in the fragment". A bare query value is a value (`?eyJ…` is
// redacted, as `?ann@example.com` is), and a bare fragment that holds an email (`#ann@example.com`) is redacted; a
// bare fragment that is a token (`/auth#eyJ…`, a sign-in link that hands its token to the page's script) was kept.
import { expect, test } from 'vitest';
import { redactUrl } from '../../collector/ingest/redact-url.js';

const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';

test('a JSON Web Token as the whole fragment is redacted, as it is as a bare query value', () => {
  expect(redactUrl(`https://example.com/auth?${JWT}`)).toBe('https://example.com/auth?[redacted]');
  expect(redactUrl('https://example.com/auth#ann@example.com')).toBe('https://example.com/auth#[redacted]');
  expect(redactUrl(`https://example.com/auth#${JWT}`)).toBe('https://example.com/auth#[redacted]');
  // anchors stay, an `eyJ` that is no token among them
  expect(redactUrl('https://example.com/docs#pricing')).toBe('https://example.com/docs#pricing');
  expect(redactUrl('https://example.com/docs#eyJust-a-heading')).toBe('https://example.com/docs#eyJust-a-heading');
});
