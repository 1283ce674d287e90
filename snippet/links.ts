// Link clicks (left, keyboard, middle): `download` for a download attribute or a listed extension
// (case-insensitive; query and hash ignored), `outbound` for another host. Never delays navigation.
import { data } from './config.js';
import { loc } from './globals.js';
import { track } from './track.js';
import { flush } from './send.js';
import { onSubmit, watchSubmits } from './forms.js';

/**
 * `p`, `t` and `b` are locals (parameters only to save bytes): the event's path through open shadow roots, its innermost
 * target, and its button.
 */
export const onClick = (e: MouseEvent, p = e.composedPath() as Element[], t = p[0], b = e.button) => {
  // the root of what was clicked is watched from now on: in a web component's open shadow root, the submit of its form
  // (which follows the click, also for Enter in a field) stays there (the document's own is watched already: no change)
  watchSubmits(t.getRootNode() as ShadowRoot);
  // a form sent by script from a type=button control (Ninja Forms), by a left click or the keyboard, also on the icon or
  // label inside the button: see onSubmit (no such control, or one outside a form, throws there, caught); and a form
  // sent by the page's own script from its submit button's click, whose default it prevents (jQuery's
  // `$('#send').click(function (e) { e.preventDefault(); $.post(…) })`, Vue's `@click.prevent`, React's onClick: no
  // submit event), read now and counted a task later if the click was prevented, once per form with an address, as a
  // type=button control is (a password's "show" button or an "Apply coupon" button, with no type attribute, is no
  // [type=submit]); an old theme's image submit button (<input type="image">, a submit button by the HTML standard) the
  // same
  if (!b) onSubmit(t.closest('[type=button]') as unknown as Event, 1), onSubmit(t.closest('[type=image],[type=submit]') as unknown as Event, e);
  // the link is the first <a> or <area> on the path, which crosses open shadow roots where closest() stops: a link inside
  // a web component, a design system's link button (<a href><slot></slot></a> in its shadow root) clicked on a slotted
  // label or icon, a link clicked on an icon component whose SVG is in its own shadow root (ion-icon) all count (the
  // window and the document on the path have no matches()); so does an SVG link written with xlink:href (design tools'
  // exports), which [href] would not match (a selector without a namespace); an <a> without either (a placeholder a
  // script handles) reads as the page's own URL: neither a download nor outbound, unless it has a download attribute
  // (leaving that one out costs 4 B gzip)
  const a = p.find((n) => n.matches?.('a,area')) as Element & { href: string | SVGAnimatedString };
  // an SVG link's href property is an SVGAnimatedString (no host or pathname) whose baseVal is its href or xlink:href
  // as written, resolved as the browser does
  const u = new URL((a.href as SVGAnimatedString).baseVal ?? a.href, a.baseURI);
  // data-downloads="pdf, .zip" (or "*.pdf *.zip", "pdf|zip": any other character than letters, digits and _ separates)
  // becomes /\.(pdf|zip)(;|$)/i; a list that made an invalid pattern would stop downloads and outbound links alike; a
  // path parameter after the extension is ignored like the query: a Java servlet site writes the new session's id into
  // every link of a visitor's first page (`/docs/datasheet.pdf;jsessionid=8F3A`)
  const name =
    a.hasAttribute('download') ||
    RegExp(`\\.(${data.downloads?.replace(/\W+/g, '|') || 'pdf|(doc|xls|ppt)x?|csv|txt|zip|rar|7z|gz|dmg|exe|msi|epub|mp[34]'})(;|$)`, 'i').test(u.pathname)
      ? 'download'
      : // mailto:, tel:, javascript: and data: links have no host
        u.host && u.host != loc.host && 'outbound';
  // cut (the collector keeps a prop's first 512 characters; 1e3 gzips smaller): an export saved from a data: URL can
  // pass the 64 KiB a request may carry, and a batch refused as too large would block the outbox for good
  if (name && b < 2) track(name, { p: { url: u.href.slice(0, 1e3) } }), flush();
};
