// Twenty-sixth round of pages the snippet had not seen: lead forms with conditional fields, as WPForms, Parsley and
// jQuery Validate forms render them: a field marked `required` that the form's logic shows only for some answers
// (a "State" select shown only for the United States) and hides with display: none otherwise; the form is novalidate
// (jQuery Validate sets it) and its script checks only the fields shown (jQuery Validate's default `ignore: ":hidden"`,
// Parsley's `excluded: … :hidden`). In headless Chromium against the real collector; the expected events are worked
// out by hand from the contract (§3: a valid submit of a form marked demo is a demo_request, its email field
// identifying the visitor) and the README before each run: what did the visitor do, and what must the collector store.
import { test } from 'vitest';
import { doc, noEngagement, pathOf as path, snippetSites, visitPage, type SitePage } from '../helpers/snippet-sites.js';
import type { StoredRow } from '../helpers/browser.js';

const sites = snippetSites();
const { site, serve, tagOf, waitFor, settled } = sites;

/** The stored events without engagement: name, path, email, form kind. */
const stored = (rows: StoredRow[]) => noEngagement(rows).map((r) => [r.name, path(r), r.email, r.form]);

/**
 * A WPForms-style demo form (AJAX submission): the State field is `required` in the markup and wrapped in a
 * conditional block hidden unless the country is the United States; the form is novalidate and its script (jQuery
 * Validate's rules read from the attributes, hidden fields ignored) refuses a send with a shown required field empty,
 * otherwise posts the fields and shows its confirmation.
 */
const demoPage: SitePage = {
  body: `<div class="wpforms-container"><form id="wpforms-form-8" class="wpforms-validate wpforms-form wpforms-ajax-form" data-formid="8" method="post" action="/demo" data-funnelbeam="demo" novalidate="novalidate">
      <div class="wpforms-field-container">
        <div id="wpforms-8-field_1-container" class="wpforms-field wpforms-field-email"><label for="wpforms-8-field_1">Work email</label>
          <input type="email" id="wpforms-8-field_1" class="wpforms-field-medium wpforms-field-required" name="wpforms[fields][1]" required></div>
        <div id="wpforms-8-field_2-container" class="wpforms-field wpforms-field-select"><label for="wpforms-8-field_2">Country</label>
          <select id="wpforms-8-field_2" class="wpforms-field-medium wpforms-field-required" name="wpforms[fields][2]" required>
            <option value="" class="placeholder" disabled selected>Choose</option><option>Germany</option><option>United States</option></select></div>
        <div id="wpforms-8-field_3-container" class="wpforms-field wpforms-field-select wpforms-conditional-field wpforms-conditional-hide" style="display: none"><label for="wpforms-8-field_3">State</label>
          <select id="wpforms-8-field_3" class="wpforms-field-medium wpforms-field-required" name="wpforms[fields][3]" required>
            <option value="" class="placeholder" disabled selected>Choose</option><option>California</option><option>Texas</option></select></div>
      </div>
      <div class="wpforms-submit-container"><button type="submit" name="wpforms[submit]" id="wpforms-submit-8" class="wpforms-submit">Book a demo</button></div>
    </form></div>
    <div id="wpforms-confirmation-8" class="wpforms-confirmation-container-full" style="display: none">Thanks! We'll be in touch.</div>
    <script>
      (function () {
        var form = document.getElementById('wpforms-form-8');
        var state = document.getElementById('wpforms-8-field_3-container');
        // WPForms' conditional logic: the State field is shown for the United States only
        document.getElementById('wpforms-8-field_2').addEventListener('change', function (e) {
          var us = e.target.value == 'United States';
          state.style.display = us ? '' : 'none';
          state.classList.toggle('wpforms-conditional-hide', !us);
        });
        // jQuery Validate: the rules of the required attributes, fields that are not shown ignored (ignore: ":hidden")
        form.addEventListener('submit', function (e) {
          e.preventDefault();
          var bad = [].filter.call(form.querySelectorAll('[required]'), function (f) { return f.offsetParent && !f.value; });
          form.querySelectorAll('label.wpforms-error').forEach(function (l) { l.remove(); });
          if (bad.length) {
            bad.forEach(function (f) { f.insertAdjacentHTML('afterend', '<label class="wpforms-error">This field is required.</label>'); });
            return;
          }
          fetch('/wp-admin/admin-ajax.php', { method: 'POST', body: new FormData(form) }).catch(function () {}).then(function () {
            form.style.display = 'none';
            document.getElementById('wpforms-confirmation-8').style.display = 'block';
          });
        });
      })();
    </script>`,
};

// A visitor from Germany: the State field stays hidden and empty; the form's own script accepts the send and shows its
// confirmation. The visitor booked a demo: one demo_request with their address (contract §3). A visitor from the
// United States who first leaves the shown State empty is refused by the form (an error under the field, nothing
// sent), picks California and sends again: one demo_request, at the second send.
test('a WPForms demo form with a required State field hidden unless the country is the United States: a German visitor\'s send counts; an American visitor\'s counts once State is chosen', async ({ expect }) => {
  const s = await site({ '/demo': demoPage });
  const { page, errors } = await visitPage(sites.browser, s.origin + '/demo');
  await page.fill('#wpforms-8-field_1', 'lena@acme.de');
  await page.selectOption('#wpforms-8-field_2', 'Germany');
  await page.click('#wpforms-submit-8');
  await page.waitForSelector('#wpforms-confirmation-8', { state: 'visible' });
  await page.close();

  const us = await visitPage(sites.browser, s.origin + '/demo');
  await us.page.fill('#wpforms-8-field_1', 'sam@acme.com');
  await us.page.selectOption('#wpforms-8-field_2', 'United States');
  await us.page.click('#wpforms-submit-8');
  await us.page.waitForSelector('label.wpforms-error');
  await us.page.selectOption('#wpforms-8-field_3', 'California');
  await us.page.click('#wpforms-submit-8');
  await us.page.waitForSelector('#wpforms-confirmation-8', { state: 'visible' });
  await us.page.close();

  const rows = await waitFor(s, (r) => r.filter((e) => e.name == 'demo_request').length >= 2, 5000).catch(() => settled(s));
  expect(stored(rows).filter((r) => r[0] != 'pageview').sort()).toEqual([
    ['demo_request', '/demo', 'lena@acme.de', 'demo'],
    ['demo_request', '/demo', 'sam@acme.com', 'demo'],
  ]);
  expect([...errors, ...us.errors]).toEqual([]);
});

/**
 * htmx 1.9's hx-boost as it works (boostElement, issueAjaxRequest, saveCurrentPageToHistory, pushUrlIntoHistory,
 * restoreHistory): a left click on a same-origin link, and the submit of a form, inside the boosted body are
 * prevented; the page is fetched (the form posted with its values), the body's content swapped in (its scripts run
 * anew), then the URL pushed with `{htmx: true}` (a form's hx-push-url pushes that address instead of its action);
 * back (popstate with an htmx state) restores the page from htmx's history cache, or fetches it, and pushes nothing.
 */
const htmx = `<script>
  (function () {
    var cache = {};
    var swap = function (html) {
      var body = new DOMParser().parseFromString(html, 'text/html').body;
      document.body.innerHTML = body.innerHTML;
      document.body.querySelectorAll('script').forEach(function (old) { var s = document.createElement('script'); s.text = old.text; old.replaceWith(s); });
    };
    var save = function () { cache[location.pathname + location.search] = document.body.innerHTML; };
    document.addEventListener('click', function (e) {
      var a = e.target.closest('a[href]');
      if (!a || e.button || !a.closest('[hx-boost=true]') || a.origin != location.origin) return;
      e.preventDefault();
      fetch(a.href, { headers: { 'HX-Request': 'true', 'HX-Boosted': 'true' } }).then(function (r) { return r.text(); }).then(function (html) {
        save(); swap(html); history.pushState({ htmx: true }, '', a.href);
      });
    });
    document.addEventListener('submit', function (e) {
      var f = e.target;
      if (!f.closest('[hx-boost=true]')) return;
      e.preventDefault();
      fetch(f.action, { method: 'POST', body: new FormData(f), headers: { 'HX-Request': 'true' } }).then(function (r) { return r.text(); }).then(function (html) {
        save(); swap(html); history.pushState({ htmx: true }, '', f.getAttribute('hx-push-url') || f.action);
      });
    });
    addEventListener('popstate', function (e) {
      if (!e.state || !e.state.htmx) return;
      var hit = cache[location.pathname + location.search];
      if (hit) document.body.innerHTML = hit;
      else fetch(location.href).then(function (r) { return r.text(); }).then(swap);
    });
  })();
</script>`;

// Contract §3: a view per pushState and popstate, a newsletter_signup per valid submit of a form marked newsletter.
// The visitor lands on /, follows the boosted "Pricing" link (one view), signs up to the newsletter in its footer form
// (posted by htmx: one newsletter_signup with the address, at /pricing), is shown the thanks page that hx-push-url
// names (one view), and goes back (one view of /pricing, restored from htmx's cache). The tag is in <head>, which htmx
// leaves alone; the body's own inline script runs anew at each swap. (Played in this round: found right.)
test('an htmx site with hx-boost: a boosted link, a boosted newsletter form with hx-push-url, back: one view per address shown, one signup', async ({ expect }) => {
  const body = `<div hx-boost="true"><nav><a id="pricing" href="/pricing">Pricing</a></nav><main><h1>Page</h1></main>
    <footer><form id="nl" action="/newsletter" method="post" hx-push-url="/thanks" data-funnelbeam="newsletter">
      <input type="email" name="email" id="nl-email" required><button>Subscribe</button></form></footer></div>
    <script>window.swaps = (window.swaps || 0) + 1;</script>`;
  const s = await serve({ '*': doc(`${htmx}<script defer ${tagOf()}></script>`, body, 'htmx') });
  const { page, errors } = await visitPage(sites.browser, s.origin + '/');
  await page.click('#pricing');
  await page.waitForURL('**/pricing');
  await page.fill('#nl-email', 'ana@acme.io');
  await page.click('#nl button');
  await page.waitForURL('**/thanks');
  await page.goBack();
  await page.waitForURL('**/pricing');
  await waitFor(s, (r) => r.filter((e) => e.name == 'pageview').length >= 4);
  const rows = noEngagement(await settled(s)).sort((a, b) => a.at - b.at);
  expect(rows.map((r) => [r.name, path(r), r.email])).toEqual([
    ['pageview', '/', null],
    ['pageview', '/pricing', null],
    ['newsletter_signup', '/pricing', 'ana@acme.io'],
    ['pageview', '/thanks', null],
    ['pageview', '/pricing', null],
  ]);
  expect(errors).toEqual([]);
  await page.close();
});
