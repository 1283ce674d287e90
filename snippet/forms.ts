// Valid form submits: newsletter_signup / demo_request for forms marked data-funnelbeam="newsletter|demo",
// form_submit for any other form with an email field. Reads only the email field (it identifies the
// visitor) and fields marked data-funnelbeam-field (sent as traits); never a password or card field.
import type { FormKind } from '../shared/events.js';
import { track } from './track.js';
import { flush } from './send.js';

export const onSubmit = (e: SubmitEvent) => {
  const form = e.target as HTMLFormElement;
  const kind = form.dataset.funnelbeam!;
  const name = kind == 'newsletter' ? 'newsletter_signup' : kind == 'demo' ? 'demo_request' : '';
  /** undefined: no email field; false or '': one, but not an address */
  let em: unknown;
  let tr: Record<string, string> | undefined;
  for (const el of form.elements as unknown as HTMLInputElement[]) {
    let { type, value, name } = el;
    let key = el.dataset.funnelbeamField;
    // an email field: by type, or a text field whose name, id or autocomplete says so (an address the collector finds
    // unusable, "a@b.co;", is dropped there and the form still counts)
    if (type == 'email' || (type == 'text' && /mail/i.test(name + el.id + el.autocomplete))) em ||= /^\S+@\S+\.\S\S+$/.test((value = value.trim())) && value;
    // a marked field, never a password or card field; a radio button or checkbox (the only input types with "io" or
    // "bo" in them) only when checked (the collector cuts a value to 512 characters)
    else if (key != null && (key ||= name) && value && (el.checked || !/io|bo/.test(type)) && !/password|cc-|ccn|card|cv[cv]/i.test(type + el.autocomplete + name)) (tr ||= {})[key] = value;
  }
  if ((em != null || name) && form.checkValidity()) {
    // the form's own marker ("contact") goes as its kind: the collector keeps it as props.form, kind "other"
    track(name || 'form_submit', { f: (kind || 'other') as FormKind, em: (em || undefined) as string, tr });
    flush();
  }
};
