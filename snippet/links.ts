// Link clicks (left, keyboard, middle): `download` for a download attribute or a listed extension
// (case-insensitive; query and hash ignored), `outbound` for another host. Never delays navigation.
import { data } from './config.js';
import { loc } from './globals.js';
import { track } from './track.js';
import { flush } from './send.js';

export const onClick = (e: MouseEvent) => {
  // the innermost target: a link inside a web component's (open) shadow root counts too
  const a = (e.composedPath()[0] as Element).closest('a[href],area[href]') as HTMLAnchorElement;
  // data-downloads="pdf, .zip" (or "*.pdf *.zip", "pdf|zip": any other character than letters, digits and _ separates)
  // becomes /\.(pdf|zip)$/i; a list that made an invalid pattern would stop downloads and outbound links alike
  const name =
    a.hasAttribute('download') ||
    RegExp('\\.(' + (data.downloads?.replace(/\W+/g, '|') || 'pdf|(doc|xls|ppt)x?|csv|txt|zip|rar|7z|gz|dmg|exe|msi|epub|mp[34]') + ')$', 'i').test(a.pathname)
      ? 'download'
      : // mailto:, tel:, javascript: and data: links have no host
        a.host && a.host != loc.host && 'outbound';
  // cut (the collector keeps a prop's first 512 characters; 1e3 gzips smaller): an export saved from a data: URL can
  // pass the 64 KiB a request may carry, and a batch refused as too large would block the outbox for good
  if (name && e.button < 2) track(name, { p: { url: a.href.slice(0, 1e3) } }), flush();
};
