// README, configuration: "a bad value stops the process with a message", and PUBLIC_URL is "the address you open the
// demo at, such as `http://devbox:8787`". Written without its scheme (`PUBLIC_URL=devbox:8787`, as one writes HOST and
// PORT), it passed as a URL of the scheme `devbox:`: the collector started and printed `devbox:8787/demo/`,
// `devbox:8787/healthz` and a curl line with `devbox:8787/api/leads`, none of which a browser or curl opens, and the
// demo site admitted no host of it. Only an http(s) URL is a base URL.
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../collector/config.js';

describe('PUBLIC_URL must be an http(s) URL', () => {
  test.each(['devbox:8787', 'localhost:8787', 'ftp://devbox:8787', 'mailto:ops@acme.test'])('%s stops the start with a message naming PUBLIC_URL', (value) => {
    expect(() => parseConfig({ PUBLIC_URL: value })).toThrow(/PUBLIC_URL/);
  });

  test.each([
    ['http://devbox:8787', 'http://devbox:8787'],
    ['https://collector.acme.test/fb', 'https://collector.acme.test/fb'],
    ['http://[::1]:8787', 'http://[::1]:8787'],
  ])('%s is a base URL', (value, base) => {
    expect(parseConfig({ PUBLIC_URL: value }).PUBLIC_URL).toBe(base);
  });
});
