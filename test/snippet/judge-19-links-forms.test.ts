// A finding of the nineteenth unseen-pages round (test/e2e/unseen-pages-19.test.ts), at the unit level: download links
// with a servlet session id as a path parameter. (The round's form findings are judged in Chromium only: happy-dom
// gives a submit event from requestSubmit() without a submitter the form itself as its submitter, where browsers give
// null.) Expected values worked out by hand from contract §3.
import { expect, test } from 'vitest';
import { pagesOfTest, type TestPage } from './page.js';

const open = pagesOfTest();
const el = (p: TestPage, id: string) => p.w.document.getElementById(id) as any;

// Contract §3: a download is a link with a listed extension, query and hash ignored. Tomcat writes `;jsessionid=…`
// after the path of every link on a new session's first page: the file is still a PDF or a ZIP. A path that only
// passes through a folder named like a file (`/files/guide.pdf/preview`) is no download, nor a page with the id.
test('download links with a session id path parameter (`;jsessionid=…`) count, with the default list and with data-downloads; a page with one does not', async () => {
  const html =
    '<a id="pdf" href="/docs/datasheet.pdf;jsessionid=8F3A">pdf</a><a id="zip" href="/docs/SDK.ZIP;jsessionid=8F3A?dl=1#x">zip</a>' +
    '<a id="page" href="/docs/overview;jsessionid=8F3A">page</a><a id="folder" href="/files/guide.pdf/preview">preview</a>';
  for (const attrs of [{}, { 'data-downloads': 'pdf, zip' }] as Record<string, string>[]) {
    const page = await open({ html, attrs });
    for (const id of ['pdf', 'zip', 'page', 'folder']) el(page, id).dispatchEvent(new page.w.MouseEvent('click', { bubbles: true, cancelable: true }));
    await page.settle();
    expect(page.events().filter((e) => e.n != 'pageview').map((e) => [e.n, e.p]), JSON.stringify(attrs)).toEqual([
      ['download', { url: 'https://www.example.com/docs/datasheet.pdf;jsessionid=8F3A' }],
      ['download', { url: 'https://www.example.com/docs/SDK.ZIP;jsessionid=8F3A?dl=1#x' }],
    ]);
  }
});
