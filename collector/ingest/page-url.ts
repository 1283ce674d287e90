// A page URL as a beacon sends it: absolute from the snippet, but a hand-made beacon may write it from its path.

/** The URL parsed; one written from its path (`/pricing?utm_source=…`) is read as that path of any host. Throws like `new URL`. */
export const parsePageUrl = (url: string): URL => new URL(url, url.startsWith('/') ? 'http://page.invalid' : undefined);
