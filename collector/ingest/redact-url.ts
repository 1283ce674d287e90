// Redaction of URLs before they are stored: a query value that holds an email address, or whose parameter's name says
// it is a credential or card data, becomes a marker. A form sent with method="get" (the HTML default) puts every field,
// a password too, in the next page's address, which the snippet sends as is. Pure.
import type { WireTouch } from '../../shared/wire.js';

export const REDACTED = '[redacted]';

/** A parameter whose name has one of these words (`pin`, `user_pin`, `cardNumber`, `cc-csc`, `user[pass]`)… */
const SECRET_WORDS = ['pass', 'pw', 'pwd', 'pin', 'otp', 'card', 'cc', 'cvv', 'cvv2', 'cvc', 'cvc2', 'cv2', 'csc', 'jwt'];
/** …or a word holding one of these (`newpassword`, `accesstoken`, `creditcardnumber`, `clientsecret`)… */
const SECRET_PARTS = [
  'password', 'passwd', 'passwort', 'passphrase', 'passcode', 'secret', 'token', 'creditcard', 'cardnumber', 'cardno', 'apikey',
  'accesskey', 'privatekey', 'securitycode',
];
/** …or two words in a row that read as one of these (`api_key`, `apiKey`, `security-code`). */
const SECRET_PAIRS = ['api key', 'access key', 'private key', 'security code'];

const secretWords = new Set(SECRET_WORDS);
const secretPairs = new Set(SECRET_PAIRS);
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const stems = ['@', '%40', 'eyJ', ...SECRET_WORDS, ...SECRET_PARTS, ...SECRET_PAIRS.map((p) => p.split(' ')[0])];
/**
 * What a redactable query holds somewhere: `@` (or `%40`, as forms send it), a secret word, part, or the first word of a
 * pair (each only once: `pass` finds `password` too). A URL without any is returned without being split: nearly every
 * URL, as UTM and click-id parameters hold none.
 */
const SUSPECT = new RegExp(stems.filter((s) => !stems.some((t) => t !== s && s.includes(t))).map(escapeRegExp).join('|'), 'i');
/** An email address inside a text: something@label.label (labels hold no dot, so the match is linear). */
const EMAIL_IN = /[^\s@]@[^\s@.]+(?:\.[^\s@.]+)+/;
const holdsEmail = (raw: string) => (raw.includes('@') || raw.includes('%40')) && EMAIL_IN.test(decodePart(raw));
/**
 * A JSON Web Token, whatever its parameter is called (a magic sign-in link's `?t=eyJ…`): a header that is JSON (`eyJ`
 * is `{"` in base64url) and two or more dot-separated parts after it.
 */
const JWT_VALUE = /^eyJ[\w-]+(?:\.[\w-]*){2,4}$/;
const holdsSecret = (raw: string) => holdsEmail(raw) || JWT_VALUE.test(raw);

function decodePart(s: string): string {
  if (!s.includes('%') && !s.includes('+')) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** True when a parameter name (decoded) says its value is a credential or card data. */
export function isSecretName(name: string): boolean {
  if (!SUSPECT.test(name)) return false;
  // camelCase and any non-alphanumeric split words: `newPassword`, `card[number]`, `cc-csc` → new password, card number, cc csc
  const w = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().split(/[^a-z0-9]+/);
  for (let i = 0; i < w.length; i++) {
    if (!w[i]) continue;
    if (secretWords.has(w[i]) || (i > 0 && secretPairs.has(w[i - 1] + ' ' + w[i]))) return true;
    for (const part of SECRET_PARTS) if (w[i].includes(part)) return true;
  }
  return false;
}

/** `a=1&pw=x&e=a%40b.co` → `a=1&pw=[redacted]&e=[redacted]`; every other byte as it was. */
function redactQuery(query: string): string {
  const params = query.split('&');
  let changed = false;
  for (let i = 0; i < params.length; i++) {
    const param = params[i];
    const eq = param.indexOf('=');
    // a bare value (`?ann@example.com`) is a value too; an empty value tells nothing
    const redact = eq < 0 ? holdsSecret(param) : eq < param.length - 1 && (holdsSecret(param.slice(eq + 1)) || isSecretName(decodePart(param.slice(0, eq))));
    if (redact) {
      params[i] = eq < 0 ? REDACTED : param.slice(0, eq + 1) + REDACTED;
      changed = true;
    }
  }
  return changed ? params.join('&') : query;
}

/**
 * The URL with its query's (and its fragment's: a hash route's query, `#/thanks?email=…`, or parameters,
 * `#access_token=…`) sensitive values replaced by REDACTED.
 * Everything else is byte-identical: nothing is decoded and encoded again, so UTM values stay exactly as sent and the
 * path reads the same.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  const h = url.indexOf('#');
  if (q < 0 && h < 0) return url.includes('@') ? redactPassword(url) : url;
  // a landing event carries its URL three times (page, session touch, first touch)
  if (url === lastUrl) return lastRedacted;
  lastUrl = url;
  // the query is redacted first: that leaves every byte before the '?', the address's user:password included, in place
  const out = SUSPECT.test(url.slice(q < 0 ? h : h < 0 ? q : Math.min(q, h))) ? redactQueries(url) : url;
  lastRedacted = out.includes('@') ? redactPassword(out) : out;
  return lastRedacted;
}

/**
 * `https://ann:hunter2@host/` → `https://ann:[redacted]@host/`: a password written in the address itself (a staging
 * site behind basic auth, a link shared with its login). The user name stays, as it does in every log.
 */
function redactPassword(url: string): string {
  const start = url.indexOf('//');
  if (start < 0) return url;
  const rest = url.slice(start + 2);
  const authority = rest.slice(0, rest.search(/[/?#]|$/));
  const at = authority.lastIndexOf('@');
  const colon = authority.indexOf(':');
  if (at < 0 || colon < 0 || colon > at || colon === at - 1) return url;
  return url.slice(0, start + 2 + colon + 1) + REDACTED + url.slice(start + 2 + at);
}

// a one-entry memo, invisible from outside: the function stays pure
let lastUrl = '';
let lastRedacted = '';

function redactQueries(url: string): string {
  const h = url.indexOf('#');
  const end = h < 0 ? url.length : h;
  // a '?' after the '#' opens a hash route's query, not the URL's
  const q = url.indexOf('?');
  const out = q < 0 || q > end ? url.slice(0, end) : url.slice(0, q + 1) + redactQuery(url.slice(q + 1, end));
  return h < 0 ? out : out + '#' + redactFragment(url.slice(h + 1));
}

/**
 * A fragment as the page's script reads it: a hash route's query (`#/thanks?email=…`), or parameters written like a
 * query (`#access_token=…&refresh_token=…`: OAuth's implicit grant, Supabase's and Netlify Identity's links land with
 * their tokens there), redacted as a query is. An anchor (`#pricing`, `#token`) holds no `=` and stays as it is.
 */
function redactFragment(fragment: string): string {
  const fq = fragment.indexOf('?');
  const head = fq < 0 ? fragment : fragment.slice(0, fq);
  const out = head.includes('=') || head.includes('@') || head.startsWith('eyJ') ? redactQuery(head) : head;
  return fq < 0 ? out : out + '?' + redactQuery(fragment.slice(fq + 1));
}

/** A touch with its landing URL and referrer redacted, and any UTM or click-id value that holds an email replaced. */
export function redactTouch<T extends WireTouch>(t: T): T;
export function redactTouch<T extends WireTouch>(t: T | undefined): T | undefined;
export function redactTouch<T extends WireTouch>(t: T | undefined): T | undefined {
  if (!t) return t;
  let out: T | undefined;
  for (const k in t) {
    const v = t[k as keyof T];
    if (typeof v !== 'string') continue;
    const r = k === 'url' || k === 'ref' ? redactUrl(v) : v.includes('@') && EMAIL_IN.test(v) ? REDACTED : v;
    if (r !== v) {
      out ??= { ...t };
      out[k as keyof T] = r as T[keyof T];
    }
  }
  return out ?? t;
}
