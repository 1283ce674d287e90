// The script tag's settings, read once at start.
import { doc, loc } from './globals.js';
export let data: DOMStringMap;
/**
 * collector base URL with a trailing slash: data-api (first-party proxy), else the folder the script was loaded from: the
 * collector's root for its own /s.js, and a proxy's path for a tag loaded through a proxy that forwards a whole path
 * (`/fb/s.js`, beacons to `/fb/e`), which then needs no data-api (contract §2 asks for it only when the collector's
 * origin differs from the script's)
 */
export let api: string;

/**
 * `s` is a local (a parameter only to save bytes): the script tag. A data-api path ("/fb") is the page's own: resolved
 * against its address, not its base URL, which a <base href> pointing at an asset CDN would send the beacons to.
 */
export const readTag = (s = (doc.currentScript || doc.querySelector('script[data-site]')) as HTMLScriptElement) =>
  (api = new URL((data = s.dataset).api || '.', (data.api ? loc : s.src) as unknown as string).href.replace(/\/*$/, '/'));
