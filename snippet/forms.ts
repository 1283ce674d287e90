// Valid form submits: newsletter_signup / demo_request for forms marked data-funnelbeam="newsletter|demo",
// form_submit for any other form with an email field. Reads only the email field (it identifies the
// visitor) and fields marked data-funnelbeam-field (sent as traits); never a password or card field.
import type { FormKind } from '../shared/events.js';
import { track } from './track.js';
import { flush } from './send.js';

/** the form of the last submit seen: a validation library's form.submit() after the event is that same submit */
export let last: unknown;

/** A submit event, or a formdata event (form.submit() fires no submit event). */
export const onSubmit = (e: Event) => {
  const form = (last = e.target) as HTMLFormElement;
  const kind = form.dataset.funnelbeam!;
  // (the event names are the markers with a suffix: newsletter_signup, demo_request)
  const name = kind == 'newsletter' ? kind + '_signup' : kind == 'demo' ? kind + '_request' : '';
  /**
   * undefined: no email field; false: one, but not an address (the form counts, without an email); '': all of them
   * empty (no submit: a site that validates by script, such as Contact Form 7, shows its errors and is sent again)
   */
  let em: unknown;
  let tr: Record<string, string> | undefined;
  for (const el of form.elements as unknown as HTMLInputElement[]) {
    let { type, value, name } = el;
    let key = el.dataset.funnelbeamField;
    // an email field: by type, or a text field whose name, id or autocomplete says so (an address the collector finds
    // unusable, "a@b.co;", is dropped there and the form still counts)
    if (type == 'email' || (type == 'text' && /mail/i.test(name + el.id + el.autocomplete))) em ||= (value = value.trim()) && /^\S+@\S+\.\S\S+$/.test(value) && value;
    // a marked field, never a password or card field; a radio button or checkbox (the only input types with "io" or
    // "bo" in them) only when checked (the collector cuts a value to 512 characters)
    else if (key != null && (key ||= name) && value && (el.checked || !/io|bo/.test(type)) && !/password|cc-|ccn|card|cv[cv]/i.test(type + el.autocomplete + name)) (tr ||= {})[key] = value;
  }
  // a form with an email field (unless empty) or a marker, valid by its own constraints
  if ((em ?? name) !== '' && form.checkValidity()) {
    // the form's own marker ("contact") goes as its kind: the collector keeps it as props.form, kind "other"
    track(name || 'form_submit', { f: (kind || 'other') as FormKind, em: (em || undefined) as string, tr });
    flush();
  }
};
