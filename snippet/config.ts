// The script tag's settings, read once at start.
import { doc } from './globals.js';
export let data: DOMStringMap;
/** collector base URL with a trailing slash: data-api (first-party proxy) or the script's origin */
export let api: string;

export const readTag = () => {
  const s = (doc.currentScript || doc.querySelector('script[data-site]')) as HTMLScriptElement;
  data = s.dataset;
  api = (data.api || new URL(s.src).origin).replace(/\/*$/, '/');
};
