// The script tag's settings, read once at start.
export let data: DOMStringMap;
/** collector base URL with a trailing slash: data-api (first-party proxy) or the script's origin */
export let api: string;

export const readTag = () => {
  const s = (document.currentScript || document.querySelector('script[data-site]')) as HTMLScriptElement;
  data = s.dataset;
  api = (data.api || new URL(s.src).origin).replace(/\/*$/, '/');
};
