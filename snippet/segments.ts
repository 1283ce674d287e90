// funnelbeam('segments', callback): the visitor's segment keys, also pushed to window.dataLayer for ad pixels
// already on the page; [] when tracking is off or the collector cannot answer.
import { api, data } from './config.js';
import { visitorId } from './ids.js';
import { safe } from './safe.js';

/** `list` and `v` are locals (parameters only to save bytes): the answer, and the visitor's id taken at the call */
export const segments = async (callback: (segments: unknown) => unknown, list: unknown = [], v = visitorId()) => {
  try {
    if (v) {
      // (copied: an answer without a list, a 500 or a proxy's error in JSON, throws to the catch, so the callback gets [])
      list = [...(await (await fetch(api + 'api/visitors/' + v + '/segments?site=' + data.site)).json()).segments];
      ((window as { dataLayer?: unknown[] }).dataLayer ||= []).push({ event: 'funnelbeam_segments', segments: list });
    }
  } catch {
    list = [];
  }
  safe(callback)(list); // a throwing or missing callback stays quiet
};
