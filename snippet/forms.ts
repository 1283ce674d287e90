// Valid form submits: newsletter_signup / demo_request for forms marked data-funnelbeam="newsletter|demo",
// form_submit for any other form with an email field. Reads only the email field (it identifies the
// visitor) and fields marked data-funnelbeam-field (sent as traits); never a password or card field.
import type { FormKind } from '../shared/events.js';
import { track } from './track.js';
import { flush } from './send.js';

export const onSubmit = (e: SubmitEvent) => {
  const form = e.target as HTMLFormElement;
  const kind = form.dataset.funnelbeam!;
  const name = ({ newsletter: 'newsletter_signup', demo: 'demo_request' } as Record<string, string>)[kind];
  /** undefined: no email field; false or '': one, but not an address */
  let em: unknown;
  let tr: Record<string, string> | undefined;
  for (const el of form.elements as unknown as HTMLInputElement[]) {
    let { type, value, name } = el;
    let key = el.dataset.funnelbeamField;
    if (type == 'email' || (type == 'text' && /mail/i.test(name))) em ||= /^\S+@\S+\.\S\S+$/.test((value = value.trim())) && value;
    else if (key != null && (key ||= name) && value && !/password|cc-|ccn|card|cv[cv]/i.test(type + el.autocomplete + name)) (tr ||= {})[key] = value;
  }
  if ((em != null || name) && form.checkValidity()) {
    track(name || 'form_submit', undefined, { f: (name ? kind : 'other') as FormKind, em: (em || undefined) as string, tr });
    flush();
  }
};
