// Reads a beacon body as text with a byte cap. On a real server it reads node's IncomingMessage directly: building a
// WHATWG Request and its ReadableStream for every beacon cost about a third of the request's time.
// Under app.request() (tests) there is no IncomingMessage and the Request is read instead.
import type { Context } from 'hono';
import type { IncomingMessage } from 'node:http';
import { LIMITS } from '../../shared/limits.js';

/** A body over the cap keeps its first bytes (`head`, at most `headBytes`), for the rejected store and its site key. */
export type BodyText = { ok: true; text: string } | { ok: false; reason: 'too_large'; head: string };

/** Bytes of an oversized body kept as its head: what the rejected store keeps of a body (LIMITS.rejectedRawBytes). */
const HEAD_BYTES = LIMITS.rejectedRawBytes;

const tooLarge = (chunks: Buffer[], contentType: string | null | undefined): BodyText => {
  const bytes = Buffer.concat(chunks);
  return { ok: false, reason: 'too_large', head: decodeBody(bytes.subarray(0, HEAD_BYTES), contentType, true) };
};

const declaredLength = (value: string | null | undefined) => (value ? Number(value) : NaN);

/**
 * The body's bytes as text (`cut`: a body's opening the collector cut off), in the charset its Content-Type declares
 * (`text/plain; charset=utf-16`, `iso-8859-1`, as some server clients write) or that a UTF-16 byte order mark shows;
 * UTF-8 otherwise, and for a charset no decoder knows. Read as UTF-8 whatever was declared, a UTF-16 body was refused
 * as "not valid JSON" and a Latin-1 `é` was stored as U+FFFD.
 */
export function decodeBody(bytes: Buffer, contentType: string | null | undefined, cut = false): string {
  let label = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1]?.toLowerCase() ?? 'utf-8';
  // a byte order mark decides over the label (WHATWG Encoding's decode): a UTF-8 one under `charset=iso-8859-1` was
  // read as "ï»¿{" and the body refused as not JSON
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    label = bytes[0] === 0xff ? 'utf-16le' : 'utf-16be';
  } else if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    label = 'utf-8';
  }
  // ASCII is read as UTF-8, its superset: a client that labels its UTF-8 `us-ascii` loses nothing
  // a head the collector cut (`cut`: a 413's first 2 KB) may end inside a character: a streaming decode leaves that
  // part out, where a plain one made it U+FFFD, a character the client never sent
  const options = cut ? { stream: true } : undefined;
  if (label !== 'utf-8' && label !== 'utf8' && !/^(us-)?ascii$/.test(label)) {
    try {
      const decoder = new TextDecoder(label);
      if (decoder.encoding !== 'utf-8') return decoder.decode(bytes, options);
    } catch {
      // an unknown charset: read as UTF-8, which the snippet always sends
    }
  }
  return cut ? new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes, options) : bytes.toString('utf8');
}

/** How long a body declared over the cap is waited for to read its head; then it is answered with what came. */
const HEAD_WAIT_MS = 1_000;

export function readBodyText(c: Context, maxBytes: number): Promise<BodyText> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  // tests may hand app.request() a stand-in `incoming` that only carries a socket address
  if (!incoming || typeof incoming.on !== 'function' || !incoming.headers || incoming.readableDidRead) return readRequest(c.req.raw, maxBytes);
  const contentType = incoming.headers['content-type'];
  // declared over the cap: only its head is read (the rejected store keeps it, and its site key names the site)
  const declaredOver = declaredLength(incoming.headers['content-length']) > maxBytes;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | undefined;
    const refuse = () => {
      // stop keeping the body, let the rest drain unread
      cleanup();
      incoming.resume();
      resolve(tooLarge(chunks, contentType));
    };
    const onData = (chunk: Buffer) => {
      const kept = size;
      size += chunk.length;
      if (!declaredOver && size <= maxBytes) return void chunks.push(chunk);
      if (kept < HEAD_BYTES) chunks.push(chunk);
      // over the cap (a chunked body says no length up front), or the head of one declared over it is in
      if (!declaredOver || size >= HEAD_BYTES) refuse();
    };
    const onEnd = () => {
      if (declaredOver) return refuse();
      cleanup();
      resolve({ ok: true, text: decodeBody(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size), contentType) });
    };
    const onError = (err: Error) => {
      // declared over the cap, it is refused as that whatever became of the rest
      if (declaredOver) return refuse();
      cleanup();
      reject(err);
    };
    const onAborted = () => onError(Object.assign(new Error('the request was aborted'), { code: 'ECONNRESET' }));
    const cleanup = () => {
      clearTimeout(timer);
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('aborted', onAborted);
    };
    // a client that declares more than it sends is answered with the head it sent
    if (declaredOver) timer = setTimeout(refuse, HEAD_WAIT_MS);
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('aborted', onAborted);
  });
}

async function readRequest(req: Request, maxBytes: number): Promise<BodyText> {
  const contentType = req.headers.get('content-type');
  const declaredOver = declaredLength(req.headers.get('content-length')) > maxBytes;
  if (!req.body) return declaredOver ? tooLarge([], contentType) : { ok: true, text: '' };
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const kept = size;
    size += value.byteLength;
    if (declaredOver || size > maxBytes) {
      if (kept < HEAD_BYTES) chunks.push(value);
      if (!declaredOver || size >= HEAD_BYTES) {
        await reader.cancel().catch(() => {});
        return tooLarge(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)), contentType);
      }
      continue;
    }
    chunks.push(value);
  }
  if (declaredOver) return tooLarge(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)), contentType);
  return { ok: true, text: decodeBody(Buffer.concat(chunks, size), contentType) };
}

/**
 * The body's first `maxBytes` bytes as sent (no charset read, nothing decoded), for a refusal that keeps them (a
 * compressed body's 415); the rest drains unread. A client that sends less than it declares is answered with what came.
 */
export function readBodyBytes(c: Context, maxBytes: number): Promise<Buffer> {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (!incoming || typeof incoming.on !== 'function' || !incoming.headers || incoming.readableDidRead) return readRequestBytes(c.req.raw, maxBytes);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      cleanup();
      incoming.resume();
      resolve(Buffer.concat(chunks).subarray(0, maxBytes));
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= maxBytes) done();
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onAborted = () => onError(Object.assign(new Error('the request was aborted'), { code: 'ECONNRESET' }));
    const timer = setTimeout(done, HEAD_WAIT_MS);
    const cleanup = () => {
      clearTimeout(timer);
      incoming.off('data', onData);
      incoming.off('end', done);
      incoming.off('error', onError);
      incoming.off('aborted', onAborted);
    };
    incoming.on('data', onData);
    incoming.on('end', done);
    incoming.on('error', onError);
    incoming.on('aborted', onAborted);
  });
}

async function readRequestBytes(req: Request, maxBytes: number): Promise<Buffer> {
  if (!req.body) return Buffer.alloc(0);
  const reader = req.body.getReader();
  const chunks: Buffer[] = [];
  let size = 0;
  while (size < maxBytes) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    size += value.byteLength;
  }
  if (size >= maxBytes) await reader.cancel().catch(() => {});
  return Buffer.concat(chunks).subarray(0, maxBytes);
}
