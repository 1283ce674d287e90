// Valid form submits: newsletter_signup / demo_request for forms marked data-funnelbeam="newsletter|demo",
// form_submit for any other form with an email field. Reads only the email field (it identifies the
// visitor) and fields marked data-funnelbeam-field (sent as traits); never a password or card field.
import type { FormKind } from '../shared/events.js';
import { track } from './track.js';
import { flush } from './send.js';
import { safe } from './safe.js';
import { path } from './pageview.js';
import { doc } from './globals.js';

/**
 * the form last counted: a send of it without an address (a validation library's form.submit() after the event, the
 * last step of a multi-step form counted at its "Next") is that same submit
 */
let last: unknown;
/**
 * each address counted, with the page's path (as views see it: with data-hash, its `#/route`) and the form's marker: a
 * send of that address again at that path and marker (a double click, each step of a multi-step form, Gravity Forms'
 * next page posted and its form replaced, a send corrected after a site's own refusal, also after another form was sent
 * in between, a CAPTCHA's requestSubmit() after the counted click) is that same sign-up. The keys have an "@" (an
 * address's), so none is a property of every object
 */
const sent: Record<string, 1> = {};

/**
 * A submit event, or `{ target: form }` for form.submit() (which fires no submit event: index.ts wraps it), or
 * (`button`) a form's type=button control clicked (1), or its submit control clicked (the click event: counted only if
 * the page prevents the click) (`e` is the control: its form is read), which counts only with an address (once). Safe
 * once and for all (safe.ts): the same function listens on every root watched, so a root watched again (an iframe
 * loaded twice) keeps a single listener.
 */
export const onSubmit = safe((e: Event, button?: 1 | Event) => {
  const form = ((e as unknown as HTMLInputElement).form || e.target) as HTMLFormElement;
  // a form of a same-origin iframe whose page runs its own copy of the snippet is that copy's to count: watchFrame leaves
  // such an iframe alone, but a copy that starts after the iframe loaded (a tag manager's "Window Loaded" trigger, a
  // consent-gated tag, WP Rocket's delayed scripts) finds this one watching its document already, and each counted it
  if ((form.ownerDocument.defaultView as Window).funnelbeam?.l && form.ownerDocument != doc) return;
  const kind = form.dataset.funnelbeam!;
  // (the event names are the markers with a suffix: newsletter_signup, demo_request)
  const name = kind == 'newsletter' ? kind + '_signup' : kind == 'demo' ? kind + '_request' : '';
  /**
   * undefined: no email field; false: one, but not an address (the form counts, without an email); '': all of them
   * empty (no submit: a site that validates by script, such as Contact Form 7, shows its errors and is sent again)
   */
  let em: unknown;
  let tr: Record<string, string> | undefined;
  let invalid: unknown;
  // the form's controls, then every element in it with a type attribute: a design system's text field that is no form
  // control (Shoelace 2's sl-input, Spectrum's sp-textfield: their own input is in their shadow root, their value
  // reaches the form by a formdata listener) is read by its type, name and value properties like an input (a control
  // read twice changes nothing: the first address found stays). Elements without one are left out: a custom checkbox
  // (sl-checkbox) has no type to tell that it is one, and would be read unchecked
  for (const el of [...form.elements, ...form.querySelectorAll('[type]')] as HTMLInputElement[]) {
    let { type, value, name } = el;
    // (a control that fails its constraints makes the form invalid; an element with no validity, such as a design
    // system's field that is no form control, none; nor one not shown (display: none on it or around it), which the
    // page's own validation skips: a `required` field that a form's conditional logic shows only for some answers, a
    // State select for the United States (jQuery Validate's ignore ":hidden", Parsley's excluded ":hidden"), empty and
    // hidden for a visitor from elsewhere, who sent the form (the browser itself refuses to send a form with such a
    // field unless it is novalidate, as those forms are); a browser without checkVisibility (Safari before 17.4) reads
    // every control, as before)
    invalid ||= el.willValidate && !el.validity.valid && (el.checkVisibility?.() ?? 1);
    let key = el.dataset.funnelbeamField;
    // a form with a submit button of its own sends by it, not by a type=button control ("Next" of a multi-step form)
    // (a submit control whose click was prevented is that button)
    if (type == 'submit' && (button as number) < 2) return;
    // an email field: by type, or a text field whose name, id or autocomplete says so (an address the collector finds
    // unusable, "a@b.co;", is dropped there and the form still counts; a component's value that is no string, none)
    if (type == 'email' || (type == 'text' && /mail/i.test(name + el.id + el.autocomplete))) em ||= (value = value?.trim()) && /^\S+@\S+\.\S\S+$/.test(value) && value;
    // a marked field, never a password or card field: by its type, autocomplete or name, so also a password the visitor
    // showed (an eye button switches its type to "text") named pwd, pass, passwort or mot_de_passe, and Magento's
    // payment[cc_number] and payment[cc_cid]; a radio button or checkbox (the only input types with "io" or "bo" in
    // them) only when checked (the collector cuts a value to 512 characters)
    else if (key != null && (key ||= name) && value && (el.checked || !/io|bo/.test(type)) && !/pass|pw|cc[-_n]|card|cv[cv]/i.test(name + type + el.autocomplete)) (tr ||= {})[key] = value;
  }
  // a form with an email field (unless empty) or a marker, valid by its own constraints (each shown control's validity, read
  // in the loop above, which unlike form.checkValidity() fires no invalid event: a page that writes an error message at
  // each one writes it once); with an address, once per address, path and marker on a page (`sent`, set only by a
  // valid send: a newsletter and a demo form sent with one address both count, and so does a registration on another
  // route of a single-page app, a `#/` route with data-hash too), however it is sent (a submit button, Enter,
  // form.submit(), requestSubmit(), a type=button control or a cancelled submit click), so a corrected address counts
  // again; without one (none typed, or no address, `sam@corp`), a form counts once (`last`), never by a type=button
  // control or a cancelled click, and not after it counted with an address (a multi-step form counted at its "Next",
  // whose last step has no email field left)
  const send = () => {
    if (!invalid && (em ? sent[path + kind + em] != (sent[path + kind + em] = 1) : !button && (em ?? name) !== '' && last != form)) {
      last = form;
      // the form's own marker ("contact") goes as its kind: the collector keeps it as props.form, kind "other"
      track(name || 'form_submit', { f: (kind || 'other') as FormKind, em: (em || undefined) as string, tr });
      flush();
    }
  };
  // a submit control's click (`button` is the click event): the fields are read now, as the visitor left them, and the
  // form counts a task later if the page prevented the click (its handlers have run by then, and may have emptied the
  // fields or swapped the form for a thank-you); a click not prevented submitted the form, and its submit event counted
  (button as Event)?.type ? setTimeout(() => (button as Event).defaultPrevented && send()) : send();
});

/**
 * Sees the submits of `root` (capture phase): the document, and roots whose submit events never reach it: a same-origin
 * iframe's document (HubSpot's default embed writes its form into one) or a web component's open shadow root. Each
 * iframe in it is watched too: those there now (an embed written while the page was parsed, before this deferred script
 * ran) and each one as it loads (again after it moves to another page), and so on down (an iframe in an iframe, whose
 * load event stops at its own document). Nothing for a cross-origin iframe (its contentDocument is null).
 */
export const watchSubmits = (root?: Document | ShadowRoot | null) => {
  root?.addEventListener('submit', onSubmit, true);
  root?.addEventListener('load', watchFrame, true);
  root?.querySelectorAll('iframe').forEach(watchFrame);
};

/**
 * An iframe's document, once loaded, unless a copy of the snippet runs there (a page of the site in an iframe counts its
 * own forms): a page still loading ("loading", "interactive" sort after "d") is left to its load event, as its own copy
 * may not have run yet. Called with an iframe or with a load event (an iframe has no `target`): an image's load, or a
 * cross-origin frame's window, throws here (caught).
 */
const watchFrame = safe(
  (f: any) => (f = f.target || f).contentWindow.funnelbeam?.l || (f.contentDocument.readyState < 'd' && watchSubmits(f.contentDocument)),
);
