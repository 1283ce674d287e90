// Findings of the ninth unseen-pages round (see test/e2e/unseen-pages-9.test.ts), at the unit level: an email field
// drawn by a web component that is no form control (Shoelace 2's sl-input: not form-associated, its own input in its
// shadow root, its value added to the form by a formdata listener) is the form's email field.
import { expect, test } from 'vitest';
import { pagesOfTest, type TestPage } from './page.js';

const open = pagesOfTest();

const submit = (page: TestPage, id: string) => (page.w.document.getElementById(id) as any).requestSubmit();
const formEvents = (page: TestPage) => page.events().filter((e) => e.n != 'pageview').map(({ n, f, em, tr }) => ({ n, f, em, ...(tr && { tr }) }));

/** A design system's text field as Shoelace 2 writes it: type, name and value properties on the host, no form control. */
const defineField = (w: any, tag: string, withValue = true) =>
  w.customElements.define(
    tag,
    class extends w.HTMLElement {
      constructor() {
        super();
        this.attachShadow({ mode: 'open' }).innerHTML = '<input>';
      }
      get type() {
        return this.getAttribute('type') || 'text';
      }
      get name() {
        return this.getAttribute('name') || '';
      }
      get value() {
        return withValue ? this.getAttribute('data-typed') || '' : undefined;
      }
    },
  );

// (failed before its fix: the signup was sent without its email, and an unmarked form with such a field not at all)
test('an email field drawn by a web component that is no form control (<sl-input type="email">) is read: a newsletter signup with the address, an unmarked form as form_submit; a marked custom checkbox left unchecked is no trait', async () => {
  const page = await open({
    html: `<form id="news" data-funnelbeam="newsletter"><sl-input type="email" name="email" data-typed=" sl@corp.example "></sl-input><button>Join</button></form>
      <form id="plain"><sl-input type="email" name="work_email" data-typed="plain@corp.example"></sl-input><button>Send</button></form>
      <form id="untyped" data-funnelbeam="newsletter"><sl-checkbox name="optin" data-funnelbeam-field="optin" data-typed="yes"></sl-checkbox><input type="email" name="email" value="box@corp.example"><button>Send</button></form>`,
    before: (w) => {
      defineField(w, 'sl-input');
      // sl-checkbox: a checked property and a value, no type
      w.customElements.define(
        'sl-checkbox',
        class extends w.HTMLElement {
          checked = false;
          get name() {
            return this.getAttribute('name');
          }
          get value() {
            return this.getAttribute('data-typed');
          }
        },
      );
      w.document.addEventListener('submit', (e: any) => e.preventDefault());
    },
  });
  submit(page, 'news');
  submit(page, 'plain');
  submit(page, 'untyped');
  await page.settle();
  expect(formEvents(page)).toEqual([
    { n: 'newsletter_signup', f: 'newsletter', em: 'sl@corp.example' },
    { n: 'form_submit', f: 'other', em: 'plain@corp.example' },
    // (a custom checkbox, left unchecked, has no type attribute to tell that it is one: it is not read)
    { n: 'newsletter_signup', f: 'newsletter', em: 'box@corp.example' },
  ]);
});

test('a native email field inside the form is read once, the first address staying; a component marked type="email" whose value is no string (no value property) leaves a marked form counted, without an email', async () => {
  const page = await open({
    html: `<form id="both"><input type="email" name="email" value="first@corp.example"><sl-input type="email" name="other" data-typed="second@corp.example"></sl-input><button>Send</button></form>
      <form id="bare" data-funnelbeam="demo"><x-field type="email" name="work_email"></x-field><input name="company" value="Corp" required><button>Book</button></form>`,
    before: (w) => {
      defineField(w, 'sl-input');
      defineField(w, 'x-field', false);
      w.document.addEventListener('submit', (e: any) => e.preventDefault());
    },
  });
  submit(page, 'both');
  submit(page, 'bare');
  await page.settle();
  expect(formEvents(page)).toEqual([
    { n: 'form_submit', f: 'other', em: 'first@corp.example' },
    { n: 'demo_request', f: 'demo', em: undefined },
  ]);
});
