// An outside judge of the snippet's form handling: forms as real tools and sites write them (HubSpot's v2 markup,
// ConvertKit, a one-question-per-screen form, German and French forms, a sign-up whose password can be shown, a
// checkout whose card fields a template marked), in headless Chromium against the real collector. What must be
// stored (event name, form kind, email, traits, and nothing for a submit the browser or the page refused) is worked out
// by hand from the contract (§3: valid submits only; the email field identifies; no other field value unless marked;
// never a password or card field) and the README's form rules before each run.
import { test } from 'vitest';
import type { Page } from 'playwright-core';
import { collectorProxy, loaded, named, noEngagement, pathOf as path, snippetSites } from '../helpers/snippet-sites.js';
import type { StoredRow } from '../helpers/browser.js';

const sites = snippetSites();
const { site, waitFor, settled } = sites;

/** A page of the site once the snippet runs, with its uncaught errors collected. */
async function visit(origin: string, path = '/'): Promise<{ page: Page; errors: string[] }> {
  const page = await sites.browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(origin + path);
  await loaded(page);
  return { page, errors };
}
/** The stored form events: name, form kind, email, traits. */
const forms = (rows: StoredRow[]) => rows.filter((r) => r.form).map((r) => [r.name, r.form, r.email, r.traits]);
/** Every value a stored event could leak a field into (ids and times left out: they are random or numeric). */
const leakable = (rows: StoredRow[]) => JSON.stringify(rows.map((r) => [r.url, r.referrer, r.email, r.traits, r.props]));

test.concurrent('HubSpot forms v2 markup rendered in the page (novalidate, its script checks the fields, then posts by fetch): sent with the email empty (refused), then filled: one form_submit with the email; its hs_context JSON and unmarked fields never stored', async ({ expect }) => {
  const s = await site({
    '/': {
      body: `<form novalidate accept-charset="UTF-8" action="/hs/submit" enctype="multipart/form-data" id="hsForm_5f1" method="POST" class="hs-form stacked hs-custom-form" data-form-id="5f1" data-portal-id="123">
        <fieldset class="form-columns-2"><div class="hs_firstname field hs-form-field"><label for="firstname-5f1">First name<span class="hs-form-required">*</span></label>
          <div class="input"><input id="firstname-5f1" name="firstname" required type="text" class="hs-input" inputmode="text" autocomplete="given-name" value=""></div></div>
          <div class="hs_email field hs-form-field"><label for="email-5f1">Email<span class="hs-form-required">*</span></label>
          <div class="input"><input id="email-5f1" name="email" required type="email" class="hs-input" inputmode="email" autocomplete="email" value=""></div></div></fieldset>
        <fieldset class="form-columns-1"><div class="hs_company field hs-form-field"><input id="company-5f1" name="company" type="text" class="hs-input" value=""></div></fieldset>
        <fieldset><div class="legal-consent-container"><input id="LEGAL_CONSENT.subscription_type_9-5f1" type="checkbox" name="LEGAL_CONSENT.subscription_type_9" value="true"><label>Send me updates</label></div></fieldset>
        <input name="hs_context" type="hidden" value='{"pageUrl":"x","hutk":"9f8e","email":"prefill@hubspot.example"}'>
        <div class="hs_submit hs-submit"><div class="actions"><input type="submit" id="hs-go" class="hs-button primary large" value="Submit"></div></div>
      </form>
      <script>
        const f = document.getElementById('hsForm_5f1');
        f.addEventListener('submit', (e) => {
          e.preventDefault();
          if (!f.checkValidity()) return void f.classList.add('hs-error');
          fetch('/hs/submit', { method: 'POST', body: new FormData(f) }).catch(() => {}).then(() => f.replaceWith(Object.assign(document.createElement('p'), { id: 'thanks', textContent: 'Thanks' })));
        });
      </script>`,
    },
  });
  const { page, errors } = await visit(s.origin);
  await page.fill('#firstname-5f1', 'Ana');
  await page.fill('#company-5f1', 'Corp One');
  await page.check('[name="LEGAL_CONSENT.subscription_type_9"]');
  await page.click('#hs-go');
  await page.fill('#email-5f1', 'ana@corpone.example');
  await page.click('#hs-go');
  await page.waitForSelector('#thanks');
  await waitFor(s, (r) => r.some((e) => e.form));
  const rows = await settled(s);
  expect(forms(rows)).toEqual([['form_submit', 'other', 'ana@corpone.example', null]]);
  for (const secret of ['prefill@', 'Ana', 'Corp One', '9f8e']) expect(leakable(rows)).not.toContain(secret);
  expect(errors).toEqual([]);
  await page.close();
});

test.concurrent('German and French forms: an "E-Mail" text field (name="E-Mail", label "E-Mail-Adresse") sent by Enter, a French newsletter (type="email" name="courriel") and a French contact form whose text field is known by autocomplete="email": each identifies', async ({ expect }) => {
  const s = await site({
    '/': {
      body: `<form id="de" action="/danke" onsubmit="event.preventDefault()"><label for="mail">E-Mail-Adresse</label><input type="text" id="mail" name="E-Mail">
          <label>Vorname <input name="vorname" data-funnelbeam-field="firstName"></label><button>Absenden</button></form>
        <form id="fr" data-funnelbeam="newsletter" onsubmit="event.preventDefault()"><label>Courriel <input type="email" name="courriel" required></label><button id="fr-go">S'abonner</button></form>
        <form id="fr2" onsubmit="event.preventDefault()"><label>Adresse courriel <input type="text" name="adresse" id="adresse" autocomplete="email"></label><button id="fr2-go">Envoyer</button></form>`,
    },
  });
  const { page, errors } = await visit(s.origin);
  await page.fill('[name=vorname]', 'Jürgen');
  await page.fill('#mail', 'juergen@firma.example');
  await page.press('#mail', 'Enter');
  await page.fill('[name=courriel]', 'chloe@societe.example');
  await page.click('#fr-go');
  await page.fill('#adresse', 'luc@societe.example');
  await page.click('#fr2-go');
  await waitFor(s, (r) => r.filter((e) => e.form).length >= 3);
  const rows = await settled(s);
  expect(forms(rows)).toEqual([
    ['form_submit', 'other', 'juergen@firma.example', { firstName: 'Jürgen' }],
    ['newsletter_signup', 'newsletter', 'chloe@societe.example', null],
    ['form_submit', 'other', 'luc@societe.example', null],
  ]);
  expect(errors).toEqual([]);
  await page.close();
});

test.concurrent('a sign-up form a template marked whole (data-funnelbeam-field on every input) whose passwords the visitor showed (type switched to "text" by an eye button): the form_submit identifies by the email and carries the company; no password, whatever its name, is stored', async ({ expect }) => {
  const s = await site({
    '/': {
      body: `<form id="signup" onsubmit="event.preventDefault()">
          <input type="email" name="user[email]" data-funnelbeam-field required>
          <input name="user[company]" data-funnelbeam-field="company">
          <input type="password" name="user[password]" id="pw1" data-funnelbeam-field required><button type="button" onclick="pw1.type = pw1.type == 'password' ? 'text' : 'password'">show</button>
          <input type="password" name="passwort" id="pw2" data-funnelbeam-field><button type="button" onclick="pw2.type = 'text'">zeigen</button>
          <input type="password" name="pwd" id="pw3" data-funnelbeam-field><button type="button" onclick="pw3.type = 'text'">show</button>
          <input type="password" name="mot_de_passe" id="pw4" data-funnelbeam-field><button type="button" onclick="pw4.type = 'text'">afficher</button>
          <button id="go">Create account</button></form>`,
    },
  });
  const { page, errors } = await visit(s.origin);
  await page.fill('[name="user[email]"]', 'dev@startup.example');
  await page.fill('[name="user[company]"]', 'Startup');
  await page.fill('#pw1', 'Hunter2-secret');
  await page.fill('#pw2', 'Geheim-Passwort9');
  await page.fill('#pw3', 'Pwd-secret-77');
  await page.fill('#pw4', 'MotDePasse-33');
  for (const b of await page.$$('button[type=button]')) await b.click();
  expect(await page.evaluate(() => [...document.querySelectorAll('#signup input')].map((i) => (i as HTMLInputElement).type))).toEqual(['email', 'text', 'text', 'text', 'text', 'text']);
  await page.click('#go');
  await waitFor(s, (r) => r.some((e) => e.form));
  const rows = await settled(s);
  expect(forms(rows)).toEqual([['form_submit', 'other', 'dev@startup.example', { company: 'Startup' }]]);
  for (const secret of ['Hunter2', 'Geheim', 'Pwd-secret', 'MotDePasse']) expect(leakable(rows)).not.toContain(secret);
  expect(errors).toEqual([]);
  await page.close();
});

test.concurrent('a checkout whose template marked every field (Magento-style payment[cc_number] and payment[cc_cid], an Authorize.net x_card_num, a German Kartennummer known by autocomplete, a CVC): the demo request keeps the email and the company; no card value is stored', async ({ expect }) => {
  const s = await site({
    '/': {
      body: `<form id="pay" data-funnelbeam="demo" onsubmit="event.preventDefault()">
          <input type="email" name="email" data-funnelbeam-field value="buyer@shop.example">
          <input name="company" data-funnelbeam-field value="Shop GmbH">
          <input type="text" name="payment[cc_number]" data-funnelbeam-field value="4111111111111111">
          <input type="text" name="payment[cc_cid]" data-funnelbeam-field value="737">
          <input type="text" name="payment[cc_exp_month]" data-funnelbeam-field value="08">
          <input type="text" name="x_card_num" data-funnelbeam-field value="5555555555554444">
          <input type="text" name="kartennummer" autocomplete="cc-number" data-funnelbeam-field value="4000056655665556">
          <input type="text" name="cvc" data-funnelbeam-field value="919">
          <button id="go">Pay</button></form>`,
    },
  });
  const { page, errors } = await visit(s.origin);
  await page.click('#go');
  await waitFor(s, (r) => r.some((e) => e.form));
  const rows = await settled(s);
  expect(forms(rows)).toEqual([['demo_request', 'demo', 'buyer@shop.example', { company: 'Shop GmbH' }]]);
  // (short values quoted: a test origin's port may hold their digits)
  for (const secret of ['4111111111111111', '"737"', '5555555555554444', '4000056655665556', '"919"', '"08"']) expect(leakable(rows)).not.toContain(secret);
  expect(errors).toEqual([]);
  await page.close();
});

test.concurrent('a one-question-per-screen demo form in a single <form> (Typeform-like: Enter or an "OK" type=button moves to the next question, the submit button shown on the last): one demo_request at the end, with the email and the marked answers', async ({ expect }) => {
  const s = await site({
    '/': {
      body: `<form id="tf" data-funnelbeam="demo" onsubmit="event.preventDefault(); fetch('/book', { method: 'POST' }).catch(() => {}); this.hidden = true">
          <section data-step="0"><label>What's your name? <input name="name" id="q0" required></label><button type="button" class="ok">OK</button></section>
          <section data-step="1" hidden><label>Your work email? <input type="email" name="email" id="q1" required></label><button type="button" class="ok">OK</button></section>
          <section data-step="2" hidden><label>Team size? <select name="size" id="q2" data-funnelbeam-field="teamSize" required><option value="">Choose</option><option>11-50</option></select></label>
          <button id="book">Book my demo</button></section></form>
        <script>
          const tf = document.getElementById('tf'); let step = 0;
          const next = () => { const f = tf.querySelector('[data-step="' + step + '"]'); if (!f.querySelector('input,select').reportValidity()) return; f.hidden = true; step++; tf.querySelector('[data-step="' + step + '"]').hidden = false; tf.querySelector('#q' + step).focus(); };
          tf.querySelectorAll('.ok').forEach((b) => b.onclick = next);
          tf.addEventListener('keydown', (e) => { if (e.key == 'Enter' && step < 2) { e.preventDefault(); next(); } });
        </script>`,
    },
  });
  const { page, errors } = await visit(s.origin);
  await page.fill('#q0', 'Mia');
  await page.press('#q0', 'Enter');
  await page.fill('#q1', 'mia@scaleup.example');
  await page.click('[data-step="1"] .ok');
  await page.selectOption('#q2', '11-50');
  await page.click('#book');
  await waitFor(s, (r) => r.some((e) => e.form));
  const rows = await settled(s);
  expect(forms(rows)).toEqual([['demo_request', 'demo', 'mia@scaleup.example', { teamSize: '11-50' }]]);
  expect(leakable(rows)).not.toContain('Mia');
  expect(errors).toEqual([]);
  await page.close();
});

test.concurrent('submits the browser refuses (Enter in a form whose submit button is still disabled, a required consent box left unchecked, a confirm-email field the page marks invalid with setCustomValidity) store nothing; each sent once the page allows it is one event; a formless box (an email field and a type=button outside any <form>, sent by fetch) is no form', async ({ expect }) => {
  const s = await site({
    '/': {
      body: `<form id="a" data-funnelbeam="newsletter" onsubmit="event.preventDefault()"><input type="email" name="email" id="a-email"><button id="a-go" disabled>Join</button></form>
        <form id="b" data-funnelbeam="demo" onsubmit="event.preventDefault()"><input type="email" name="email" id="b-email" required>
          <label><input type="checkbox" name="consent" id="b-consent" required> I agree to be contacted</label><button id="b-go">Book</button></form>
        <form id="c" onsubmit="event.preventDefault()"><input type="email" name="email" id="c-email" required><input type="email" name="email_confirm" id="c-confirm" required><button id="c-go">Sign up</button></form>
        <div class="newsletter-widget"><input type="email" id="d-email" placeholder="you@company.com"><button type="button" id="d-go" onclick="fetch('/subscribe', { method: 'POST', body: this.previousElementSibling.value }).catch(() => {})">Subscribe</button></div>
        <script>
          const c = document.getElementById('c'), check = () => c.email_confirm.setCustomValidity(c.email_confirm.value == c.email.value ? '' : 'The addresses differ');
          c.email.oninput = c.email_confirm.oninput = check;
        </script>`,
    },
  });
  const { page, errors } = await visit(s.origin);
  // refused: the default button is disabled (implicit submission does nothing), the box unchecked, the addresses differ
  await page.fill('#a-email', 'ann@first.example');
  await page.press('#a-email', 'Enter');
  await page.fill('#b-email', 'ben@second.example');
  await page.click('#b-go');
  await page.fill('#c-email', 'cat@third.example');
  await page.fill('#c-confirm', 'cat@thrid.example');
  await page.click('#c-go');
  await page.fill('#d-email', 'dan@fourth.example');
  await page.click('#d-go');
  // (the view is stored; give the refused submits the time a send would take)
  await waitFor(s, (r) => named(r, 'pageview').length == 1);
  expect(forms(await settled(s, 800))).toEqual([]);
  // allowed now
  await page.evaluate(() => ((document.getElementById('a-go') as HTMLButtonElement).disabled = false));
  await page.press('#a-email', 'Enter');
  await page.check('#b-consent');
  await page.click('#b-go');
  await page.fill('#c-confirm', 'cat@third.example');
  await page.click('#c-go');
  await waitFor(s, (r) => r.filter((e) => e.form).length >= 3);
  const rows = await settled(s);
  expect(forms(rows)).toEqual([
    ['newsletter_signup', 'newsletter', 'ann@first.example', null],
    ['demo_request', 'demo', 'ben@second.example', null],
    ['form_submit', 'other', 'cat@third.example', null],
  ]);
  expect(leakable(rows)).not.toContain('dan@');
  expect(errors).toEqual([]);
  await page.close();
});

test.concurrent('a demo form in a same-origin iframe (no snippet there) posted with target="_top": the top page is left for the thank-you page at once, and the demo request made on the page it left is stored with its email and marked field, then the thank-you view', async ({ expect }) => {
  const s = await site(
    {
      '/book': { body: '<h1>Book a demo</h1><iframe id="embed" src="/embed/demo" width="400" height="300"></iframe>', title: 'book' },
      '/thanks': { body: '<h1>Thanks, see you soon</h1>', title: 'thanks' },
    },
    {
      '/embed/demo': `<!doctype html><html><body><form data-funnelbeam="demo" action="/thanks" method="post" target="_top">
        <input type="email" name="email" id="email" required><input name="company" id="company" data-funnelbeam-field="company">
        <input type="tel" name="phone" id="phone"><button id="go">Book my demo</button></form></body></html>`,
    },
  );
  const { page, errors } = await visit(s.origin, '/book');
  const frame = page.frameLocator('#embed');
  await frame.locator('#email').fill('ivy@iframe.example');
  await frame.locator('#company').fill('Iframe Inc');
  await frame.locator('#phone').fill('+15550100');
  await Promise.all([page.waitForURL('**/thanks'), frame.locator('#go').click()]);
  await loaded(page);
  await waitFor(s, (r) => r.some((e) => e.form) && named(r, 'pageview').length == 2);
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r), r.email, r.traits])).toEqual([
    ['pageview', '/book', null, null],
    ['demo_request', '/book', 'ivy@iframe.example', { company: 'Iframe Inc' }],
    ['pageview', '/thanks', null, null],
  ]);
  expect(leakable(rows)).not.toContain('5550100');
  expect(errors).toEqual([]);
  await page.close();
});

test.concurrent('ConvertKit and Mailchimp embeds as they are pasted (ConvertKit: data-sv-form, novalidate, email_address, its script posting by fetch; Mailchimp with an interest group and its b_ honeypot): sent by Enter and by the button, each one form_submit with its address; the group, the name and the honeypot are not read', async ({ expect }) => {
  const s = await site({
    '/': {
      body: `<form action="https://app.convertkit.example/forms/123/subscriptions" class="seva-form formkit-form" method="post" data-sv-form="123" data-uid="a1b2" data-format="inline" data-version="5" novalidate>
          <div data-style="clean"><ul class="formkit-alert formkit-alert-error" data-element="errors" data-group="alert"></ul>
          <div data-element="fields" class="seva-fields formkit-fields"><div class="formkit-field"><input class="formkit-input" name="email_address" id="ck" aria-label="Email Address" placeholder="Email Address" required type="email"></div>
          <button data-element="submit" class="formkit-submit"><span>Subscribe</span></button></div></div></form>
        <script>document.querySelector('[data-sv-form]').addEventListener('submit', (e) => { e.preventDefault(); if (e.target.checkValidity()) fetch('/ck', { method: 'POST' }).catch(() => {}); })</script>
        <div id="mc_embed_signup"><form action="/mc/subscribe/post" method="post" id="mc-embedded-subscribe-form" name="mc-embedded-subscribe-form" class="validate" target="_blank" onsubmit="event.preventDefault()">
          <div class="mc-field-group"><label for="mce-EMAIL">Email Address <span class="asterisk">*</span></label><input type="email" name="EMAIL" class="required email" id="mce-EMAIL" required></div>
          <div class="mc-field-group"><label for="mce-FNAME">First Name</label><input type="text" name="FNAME" id="mce-FNAME"></div>
          <div class="mc-field-group input-group"><strong>Topics</strong><ul><li><input type="checkbox" name="group[1][1]" id="mce-group[1]-1-0" value="1"><label for="mce-group[1]-1-0">Product news</label></li></ul></div>
          <div aria-hidden="true" style="position: absolute; left: -5000px;"><input type="text" name="b_123abc_456def" tabindex="-1" value=""></div>
          <input type="submit" name="subscribe" id="mc-embedded-subscribe" class="button" value="Subscribe"></form></div>`,
    },
  });
  const { page, errors } = await visit(s.origin);
  await page.fill('#ck', 'kit@creator.example');
  await page.press('#ck', 'Enter');
  await page.fill('#mce-EMAIL', 'mo@chimp.example');
  await page.fill('#mce-FNAME', 'Moana');
  await page.check('[name="group[1][1]"]');
  await page.click('#mc-embedded-subscribe');
  await waitFor(s, (r) => r.filter((e) => e.form).length >= 2);
  const rows = await settled(s);
  expect(forms(rows)).toEqual([
    ['form_submit', 'other', 'kit@creator.example', null],
    ['form_submit', 'other', 'mo@chimp.example', null],
  ]);
  expect(leakable(rows)).not.toContain('Moana');
  expect(errors).toEqual([]);
  await page.close();
});

test.concurrent('a contact form posted to a thank-you page on another origin (a form handler) while the view\'s send is still unanswered (a first-party proxy to a far collector): the page is left at once, and its view and form_submit still reach the collector', async ({ expect }) => {
  // README, Transport: a send waits for the one in flight; when the page is hidden or left, the whole outbox goes by
  // sendBeacon. The form event is made in the submit's capture phase, before the browser leaves the page
  const handler = await sites.serve({ '/thanks': '<!doctype html><title>thanks</title><h1>Thanks!</h1>' });
  const s = await site(
    {
      '/contact': {
        attrs: 'data-api="/fb"',
        body: `<form action="${handler.origin}/thanks" method="post"><input type="email" name="email" id="email" required>
          <textarea name="message" id="message"></textarea><button id="go">Send</button></form>`,
        title: 'contact',
      },
    },
    { '/fb/e': collectorProxy(() => sites.collector.url, '/fb', 1500) },
  );
  const { page, errors } = await visit(s.origin, '/contact');
  // (the view goes 300 ms after the load; its answer comes 1.5 s later)
  await page.waitForTimeout(400);
  await page.fill('#email', 'rae@far.example');
  await page.fill('#message', 'Call me about pricing');
  await Promise.all([page.waitForURL(handler.origin + '/thanks'), page.click('#go')]);
  await waitFor(s, (r) => r.some((e) => e.form));
  const rows = noEngagement(await settled(s));
  expect(rows.map((r) => [r.name, path(r), r.email])).toEqual([
    ['pageview', '/contact', null],
    ['form_submit', '/contact', 'rae@far.example'],
  ]);
  expect(leakable(rows)).not.toContain('pricing');
  expect(errors).toEqual([]);
  await page.close();
});

test.concurrent('a newsletter form in a lazy-loaded same-origin iframe far below the fold (loading="lazy": it loads only when scrolled near), sent by Enter: one newsletter_signup with the email', async ({ expect }) => {
  const s = await site(
    { '/blog/post': { body: '<article style="height: 5000px">A long post</article><iframe id="nl" loading="lazy" src="/embed/newsletter" width="400" height="120"></iframe>' } },
    {
      '/embed/newsletter': `<!doctype html><html><body><form data-funnelbeam="newsletter" onsubmit="event.preventDefault(); this.replaceWith('Thanks!')">
        <input type="email" name="email" id="email" required placeholder="you@company.com"><button>Subscribe</button></form></body></html>`,
    },
  );
  const { page, errors } = await visit(s.origin, '/blog/post');
  // not loaded yet: a lazy iframe far below the viewport waits
  expect(await page.evaluate(() => (document.getElementById('nl') as HTMLIFrameElement).contentDocument?.getElementById('email') ?? null)).toBe(null);
  await page.locator('#nl').scrollIntoViewIfNeeded();
  const frame = page.frameLocator('#nl');
  await frame.locator('#email').fill('lia@reader.example');
  await frame.locator('#email').press('Enter');
  await waitFor(s, (r) => r.some((e) => e.form));
  const rows = await settled(s);
  expect(forms(rows)).toEqual([['newsletter_signup', 'newsletter', 'lia@reader.example', null]]);
  expect(named(rows, 'pageview').map(path)).toEqual(['/blog/post']);
  expect(errors).toEqual([]);
  await page.close();
});
