// The demo marketing site served at /demo/: pages as data, rendered with one layout. Every page loads /s.js.
export interface DemoPage {
  path: string;
  title: string;
  body: string;
}

const newsletterForm = `
<form data-funnelbeam="newsletter" class="card">
  <h3>Get the funnel newsletter</h3>
  <label>Email <input type="email" name="email" required placeholder="you@company.com"></label>
  <button type="submit">Subscribe</button>
</form>`;

// The demo form's marked fields are lead traits (company, jobTitle, country: the keys a lead profile keeps and the
// ad-platform exports read): a "Team size" field was stored on the event alone and never showed on the lead.
export const DEMO_PAGES: DemoPage[] = [
  {
    path: '/demo/',
    title: 'Beamline — pipeline analytics for B2B teams',
    body: `
<h1>Know which visits become pipeline</h1>
<p>Beamline shows marketing and sales the same funnel. This is a demo site: every click here is tracked by the
Funnelbeam snippet and lands in the collector you just started.</p>
<ul>
  <li><a href="/demo/blog/first-party-tracking">Blog: why first-party tracking wins</a></li>
  <li><a href="/demo/pricing">Pricing</a></li>
  <li><a href="/demo/case-studies/acme">Case study: Acme doubled demo requests</a></li>
  <li><a href="/demo/files/funnel-playbook.pdf">Download the funnel playbook (PDF)</a></li>
  <li><a href="/demo/demo">Request a demo</a></li>
  <li><a href="https://example.com/partner" target="_blank" rel="noopener">A partner site (outbound link)</a></li>
</ul>
${newsletterForm}`,
  },
  {
    path: '/demo/blog/first-party-tracking',
    title: 'Why first-party tracking wins — Beamline blog',
    body: `
<h1>Why first-party tracking wins</h1>
<p>Third-party cookies are gone; ad blockers hide half of the rest. A first-party collector on your own domain keeps
the data you need and nothing you should not hold.</p>
<p>Read the <a href="/demo/files/funnel-playbook.pdf">funnel playbook</a> or see <a href="/demo/pricing">pricing</a>.</p>
${'<p>' + 'Funnels lose leads between marketing and sales. '.repeat(40) + '</p>'}
${newsletterForm}`,
  },
  {
    path: '/demo/pricing',
    title: 'Pricing — Beamline',
    body: `
<h1>Pricing</h1>
<table>
  <tr><th>Starter</th><td>$49 / month</td><td>10,000 visitors</td></tr>
  <tr><th>Growth</th><td>$199 / month</td><td>100,000 visitors</td></tr>
  <tr><th>Enterprise</th><td>Talk to us</td><td>Unlimited</td></tr>
</table>
<p><a href="/demo/demo">Request a demo</a></p>`,
  },
  {
    path: '/demo/case-studies/acme',
    title: 'Case study: Acme — Beamline',
    body: `
<h1>Acme doubled demo requests in a quarter</h1>
<p>Acme's marketing team retargeted visitors who saw pricing twice but never asked for a demo.</p>
<p><a href="/demo/files/acme-case-study.pdf" download>Download this case study (PDF)</a></p>`,
  },
  {
    path: '/demo/demo',
    title: 'Request a demo — Beamline',
    body: `
<h1>Request a demo</h1>
<form data-funnelbeam="demo" class="card">
  <label>Work email <input type="email" name="email" required></label>
  <label>Company <input name="company" autocomplete="organization" data-funnelbeam-field="company"></label>
  <label>Job title <input name="jobTitle" autocomplete="organization-title" data-funnelbeam-field="jobTitle"></label>
  <label>Country <select name="country" data-funnelbeam-field="country"><option value="US">United States</option><option value="GB">United Kingdom</option><option value="DE">Germany</option><option value="FR">France</option></select></label>
  <button type="submit">Book my demo</button>
</form>`,
  },
];

/**
 * The demo forms' own script, served as a file: the demo pages' Content-Security-Policy (default-src 'self') blocks
 * inline handlers, and an inline onsubmit left the forms sending themselves as a GET, the email in the address bar.
 * It keeps the visitor on the page and thanks them; the snippet has seen the submit by then.
 */
export const DEMO_SCRIPT = `document.addEventListener('submit', function (e) {
  var form = e.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute('data-funnelbeam')) return;
  e.preventDefault();
  var p = document.createElement('p');
  p.setAttribute('role', 'status');
  p.textContent = form.getAttribute('data-funnelbeam') === 'demo' ? 'Thanks! We will be in touch to book your demo.' : 'Thanks for subscribing!';
  // after every other submit listener (the snippet's included) has read the form
  setTimeout(function () { form.replaceWith(p); }, 0);
});
`;

export function renderDemoPage(page: DemoPage, siteKey: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${page.title}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#222}
nav a{margin-right:1rem}.card{border:1px solid #ddd;border-radius:8px;padding:1rem;margin:1.5rem 0}
label{display:block;margin:.5rem 0}input,select{margin-left:.5rem}table{border-collapse:collapse}td,th{padding:.3rem .8rem;border-bottom:1px solid #eee}</style>
<script defer src="/s.js" data-site="${siteKey}" data-local></script>
<script defer src="/demo/demo.js"></script>
<link rel="icon" href="data:,">
</head><body>
<nav><a href="/demo/">Home</a><a href="/demo/blog/first-party-tracking">Blog</a><a href="/demo/pricing">Pricing</a><a href="/demo/case-studies/acme">Customers</a><a href="/demo/demo">Demo</a></nav>
${page.body}
</body></html>`;
}

/** A small valid one-page PDF, so the downloads are real files. */
export function demoPdf(title: string): Buffer {
  const text = title.replace(/[()\\]/g, '');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    null,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  const stream = `BT /F1 24 Tf 72 700 Td (${text}) Tj ET`;
  objects[3] = `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`;
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) out += `${String(off).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

export const DEMO_FILES: Record<string, string> = {
  '/demo/files/funnel-playbook.pdf': 'The B2B funnel playbook',
  '/demo/files/acme-case-study.pdf': 'Acme case study',
};

export const DEMO_SITE_NAME = 'Funnelbeam demo';
