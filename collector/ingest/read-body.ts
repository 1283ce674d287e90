// Reads a beacon body as text with a byte cap. On a real server it reads node's IncomingMessage directly: building a
// WHATWG Request and its ReadableStream for every beacon cost about a third of the request's time.
// Under app.request() (tests) there is no IncomingMessage and the Request is read instead.
import type { Context } from 'hono';
import type { IncomingMessage } from 'node:http';

export type BodyText = { ok: true; text: string } | { ok: false; reason: 'too_large' };

const TOO_LARGE: BodyText = { ok: false, reason: 'too_large' };

const declaredLength = (value: string | null | undefined) => (value ? Number(value) : NaN);

/**
 * The body's bytes as text, in the charset its Content-Type declares (`text/plain; charset=utf-16`, `iso-8859-1`, as
 * some server clients write) or that a UTF-16 byte order mark shows; UTF-8 otherwise, and for a charset no decoder
 * knows. Read as UTF-8 whatever was declared, a UTF-16 body was refused as "not valid JSON" and a Latin-1 `é` was
 * stored as U+FFFD.
 */
export function decodeBody(bytes: Buffer, contentType: string | null | undefined): string {
  let label = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1]?.toLowerCase() ?? 'utf-8';
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    label = bytes[0] === 0xff ? 'utf-16le' : 'utf-16be';
  }
  // ASCII is read as UTF-8, its superset: a client that labels its UTF-8 `us-ascii` loses nothing
  if (label !== 'utf-8' && label !== 'utf8' && !/^(us-)?ascii$/.test(label)) {
    try {
      const decoder = new TextDecoder(label);
      if (decoder.encoding !== 'utf-8') return decoder.decode(bytes);
    } catch {
      // an unknown charset: read as UTF-8, which the snippet always sends
    }
  }
  return bytes.toString('utf8');
}

export function readBodyText(c: Context, maxBytes: number): Promise<BodyText> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  // tests may hand app.request() a stand-in `incoming` that only carries a socket address
  if (!incoming || typeof incoming.on !== 'function' || !incoming.headers || incoming.readableDidRead) return readRequest(c.req.raw, maxBytes);
  if (declaredLength(incoming.headers['content-length']) > maxBytes) return Promise.resolve(TOO_LARGE);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) return void chunks.push(chunk);
      // over the cap (a chunked body says no length up front): stop keeping it, let the rest drain unread
      cleanup();
      incoming.resume();
      resolve(TOO_LARGE);
    };
    const onEnd = () => {
      cleanup();
      resolve({ ok: true, text: decodeBody(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size), incoming.headers['content-type']) });
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onAborted = () => onError(Object.assign(new Error('the request was aborted'), { code: 'ECONNRESET' }));
    const cleanup = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('aborted', onAborted);
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('aborted', onAborted);
  });
}

async function readRequest(req: Request, maxBytes: number): Promise<BodyText> {
  if (declaredLength(req.headers.get('content-length')) > maxBytes) return TOO_LARGE;
  if (!req.body) return { ok: true, text: '' };
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      return TOO_LARGE;
    }
    chunks.push(value);
  }
  return { ok: true, text: decodeBody(Buffer.concat(chunks, size), req.headers.get('content-type')) };
}
