// Before validation: the optional parts of a wire event that break a limit are cut or dropped, so that one long URL or
// bad field never costs the whole event (a demo request is worth keeping without its 2,000-character textarea). The
// required fields (id, name, time, page URL's type) are left to validation. Pure; every change is described.
import { LIMITS } from '../../shared/limits.js';
import { FORM_KINDS } from '../../shared/events.js';

/** What salvage did to one event: `cut` values were shortened to their limit, `dropped` parts were removed. */
export interface SalvageNote {
  path: string;
  action: 'cut' | 'dropped';
  why: string;
}

export interface Salvaged {
  event: unknown;
  notes: SalvageNote[];
}

/** Mirrors the collector's email check (validate.ts): characters no mailbox needs and every mail client refuses. */
export const EMAIL_RE = /^[^\s@<>()",;:]{1,64}@[^\s@<>()",;:]+\.[^\s@<>()",;:]{2,}$/;
/** A form marker other than newsletter/demo (`data-funnelbeam="contact"`): passed on as `props.form`. */
const MARKER_RE = /^[A-Za-z0-9_-]{1,64}$/;
const URL_FIELDS = ['u', 'r'] as const;
const TOUCH_URLS = new Set(['url', 'ref']);

/** The scheme of an absolute URL as a browser reads it (it ignores tabs and newlines anywhere, and leading controls). */
const schemeOf = (url: string) =>
  url.startsWith('https://') || url.startsWith('http://') ? 'http' // the usual case, without the two replaces
  : /^([a-z][a-z0-9+.-]*):/i.exec(url.replace(/[\t\n\r]/g, '').replace(/^[\u0000-\u0020]+/, ''))?.[1].toLowerCase();

/**
 * An absolute URL whose scheme is not http or https (`javascript:`, `data:`, `file:`…): a browser page never has one,
 * and stored as a page URL it would later be a link that runs script wherever it is shown.
 */
export function hasForeignScheme(url: string): boolean {
  const scheme = schemeOf(url);
  return scheme !== undefined && scheme !== 'http' && scheme !== 'https';
}

/** Referrers of other schemes are real (`android-app://…`); these three only ever carry script or inline content. */
export const isScriptUrl = (url: string) => ['javascript', 'data', 'vbscript'].includes(schemeOf(url) ?? '');

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The first `max` characters of a text, counted as validation counts them (in code points: an emoji is one character,
 * two UTF-16 units); the text itself when it is no longer. A cut by UTF-16 units split an emoji at the limit, storing
 * half of it (U+FFFD in a column, a lone `\ud83d` in props and traits), and cut a text of 512 emoji that validation
 * accepts to 256 of them.
 */
export function firstChars(value: string, max: number): string {
  if (value.length <= max) return value;
  let end = 0;
  for (let n = 0; n < max && end < value.length; n++) {
    const high = (value.charCodeAt(end) & 0xfc00) === 0xd800;
    end += high && end + 1 < value.length && (value.charCodeAt(end + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
  }
  return end >= value.length ? value : value.slice(0, end);
}

function cutText(value: string, max: number, path: string, notes: SalvageNote[]): string {
  const cut = firstChars(value, max);
  if (cut !== value) notes.push({ path, action: 'cut', why: `longer than ${max} characters` });
  return cut;
}

/** A touch: URLs cut to the URL limit, other texts to the value limit, values of a wrong type dropped. */
function salvageTouch(touch: Record<string, unknown>, path: string, notes: SalvageNote[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(touch)) {
    // its time (epoch ms) is the one part that is no text: one written as text ("2026-11-24T09:00:00Z") is dropped too
    if (k === 'at') {
      if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
      else if (v !== undefined) notes.push({ path: `${path}.${k}`, action: 'dropped', why: 'not a number' });
    } else if (typeof v === 'string' && TOUCH_URLS.has(k) && isScriptUrl(v)) notes.push({ path: `${path}.${k}`, action: 'dropped', why: 'not an http(s) URL' });
    else if (typeof v === 'string') out[k] = cutText(v, TOUCH_URLS.has(k) ? LIMITS.urlChars : LIMITS.valueChars, `${path}.${k}`, notes);
    else if (v !== undefined) notes.push({ path: `${path}.${k}`, action: 'dropped', why: 'not a text' });
  }
  return out;
}

/**
 * Props (`p`: texts, numbers, booleans) or traits (`tr`: texts; a number becomes its text): the first 32 usable keys,
 * texts cut to the value limit; keys too long and values of another kind (objects, arrays, null) dropped.
 */
function salvageRecord(record: Record<string, unknown>, path: string, traits: boolean, notes: SalvageNote[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let kept = 0;
  for (const [k, raw] of Object.entries(record)) {
    const v = traits && typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : raw;
    const usable = typeof v === 'string' || (!traits && ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean'));
    if (k.length === 0 || firstChars(k, LIMITS.propKeyChars) !== k) notes.push({ path: `${path}.${firstChars(k, 80)}`, action: 'dropped', why: `key not 1–${LIMITS.propKeyChars} characters` });
    else if (k === '__proto__') notes.push({ path: `${path}.${k}`, action: 'dropped', why: 'reserved key' });
    else if (!usable) notes.push({ path: `${path}.${k}`, action: 'dropped', why: traits ? 'not a text' : 'not a text, number or boolean' });
    else if (kept >= LIMITS.propKeys) notes.push({ path: `${path}.${k}`, action: 'dropped', why: `beyond ${LIMITS.propKeys} keys` });
    else {
      out[k] = typeof v === 'string' ? cutText(v, LIMITS.valueChars, `${path}.${k}`, notes) : v;
      kept++;
    }
  }
  return out;
}

/** Cuts and drops what breaks a limit in an event's optional parts; anything else is left for validation to judge. */
export function salvageEvent(raw: unknown, path: string): Salvaged {
  const notes: SalvageNote[] = [];
  if (!isPlain(raw)) return { event: raw, notes };
  const e: Record<string, unknown> = { ...raw };
  for (const k of URL_FIELDS) if (typeof e[k] === 'string') e[k] = cutText(e[k] as string, LIMITS.urlChars, `${path}.${k}`, notes);
  // a referrer of a script scheme is dropped (the page URL is required, so validation refuses that one); so is one of
  // another kind than text (`null` is how many languages' JSON writers say "none")
  if (typeof e.r === 'string' && isScriptUrl(e.r)) {
    notes.push({ path: `${path}.r`, action: 'dropped', why: 'not an http(s) URL' });
    delete e.r;
  } else if (e.r !== undefined && typeof e.r !== 'string') {
    notes.push({ path: `${path}.r`, action: 'dropped', why: 'not a text' });
    delete e.r;
  }
  for (const k of ['ft', 'st'] as const) {
    if (e[k] === undefined) continue;
    if (isPlain(e[k])) e[k] = salvageTouch(e[k] as Record<string, unknown>, `${path}.${k}`, notes);
    else {
      notes.push({ path: `${path}.${k}`, action: 'dropped', why: 'not an object' });
      delete e[k];
    }
  }
  // a form marker of the site's own: the form kind is "other", the marker goes on as props.form
  if (typeof e.f === 'string' && !(FORM_KINDS as readonly string[]).includes(e.f) && MARKER_RE.test(e.f)) {
    e.p = { form: e.f, ...(isPlain(e.p) ? e.p : {}) };
    e.f = 'other';
  } else if (e.f !== undefined && !(FORM_KINDS as readonly string[]).includes(e.f as string)) {
    notes.push({ path: `${path}.f`, action: 'dropped', why: 'not a form kind' });
    delete e.f;
  }
  for (const [k, traits] of [['p', false], ['tr', true]] as const) {
    if (e[k] === undefined) continue;
    if (isPlain(e[k])) e[k] = salvageRecord(e[k] as Record<string, unknown>, `${path}.${k}`, traits, notes);
    else {
      notes.push({ path: `${path}.${k}`, action: 'dropped', why: 'not an object' });
      delete e[k];
    }
  }
  // an unusable email: the event still happened (a form was sent); an identify without its email says nothing and is
  // left for validation to refuse
  if (e.em !== undefined && e.n !== 'identify' && !(typeof e.em === 'string' && e.em.length <= 254 && EMAIL_RE.test(e.em.trim()))) {
    notes.push({ path: `${path}.em`, action: 'dropped', why: 'not an email address' });
    delete e.em;
  }
  return { event: e, notes };
}
