// Valid form submits: newsletter_signup / demo_request for forms marked data-funnelbeam="newsletter|demo",
// form_submit for any other form with an email field. Reads only the email field (it identifies the
// visitor) and fields marked data-funnelbeam-field (sent as traits); never a password or card field.
import type { FormKind } from '../shared/events.js';
import { track } from './track.js';
import { flush } from './send.js';

export const onSubmit = (e: SubmitEvent) => {
  const form = e.target as HTMLFormElement;
  const marked = form.dataset.funnelbeam;
  const f = (marked == 'newsletter' || marked == 'demo' ? marked : 'other') as FormKind;
  const field = ([...form.elements] as HTMLInputElement[]).find((el) => el.type == 'email' || (el.type == 'text' && /mail/i.test(el.name)));
  const em = field && field.value.trim();
  let tr: Record<string, string> | undefined;
  form.querySelectorAll('[data-funnelbeam-field]').forEach((el) => {
    const { type, name, value, autocomplete, dataset } = el as HTMLInputElement;
    const key = dataset.funnelbeamField || name;
    if (key && value && !/password|cc-|ccn|card|cv[cv]/i.test(type + autocomplete + name)) (tr ||= {})[key] = value;
  });
  if ((field || marked == f) && form.checkValidity()) {
    track(f == 'other' ? 'form_submit' : f == 'demo' ? 'demo_request' : 'newsletter_signup', { f, em: /^\S+@\S+\.\S\S+$/.test(em!) ? em! : undefined, tr });
    flush();
  }
};
