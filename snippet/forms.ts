// Valid form submits: newsletter_signup / demo_request for forms marked data-funnelbeam="newsletter|demo",
// form_submit for any other form with an email field. Reads only the email field (it identifies the
// visitor) and fields marked data-funnelbeam-field (sent as traits); never a password or card field.
import type { FormKind } from '../shared/events.js';
import { track } from './track.js';
import { flush } from './send.js';

const NAMES: Record<string, string> = { newsletter: 'newsletter_signup', demo: 'demo_request' };

export const onSubmit = (e: SubmitEvent) => {
  const form = e.target as HTMLFormElement;
  const marked = form.dataset.funnelbeam!;
  const name = NAMES[marked];
  let em: unknown;
  let tr: Record<string, string> | undefined;
  let hasEmail: unknown;
  for (const el of form.elements as unknown as HTMLInputElement[]) {
    const { type, value, name } = el;
    const marked = el.dataset.funnelbeamField;
    const key = marked || name;
    if (type == 'email' || (type == 'text' && /mail/i.test(name))) (hasEmail = 1), (em ||= /^\S+@\S+\.\S\S+$/.test(value.trim()) && value.trim());
    else if (marked != null && key && value && !/password|cc-|ccn|card|cv[cv]/i.test(type + el.autocomplete + name)) (tr ||= {})[key] = value;
  }
  if ((hasEmail || name) && form.checkValidity()) {
    track(name || 'form_submit', { f: (name ? marked : 'other') as FormKind, em: (em || undefined) as string, tr });
    flush();
  }
};
