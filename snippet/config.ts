// The script tag's settings, read once at start.
import { doc } from './globals.js';
export let data: DOMStringMap;
/** collector base URL with a trailing slash: data-api (first-party proxy) or the script's origin */
export let api: string;

/** `s` is a local (a parameter only to save bytes): the script tag */
export const readTag = (s = (doc.currentScript || doc.querySelector('script[data-site]')) as HTMLScriptElement) =>
  (api = ((data = s.dataset).api || new URL(s.src).origin).replace(/\/*$/, '/'));
