// The opening of a compressed beacon body, decompressed, for the rejected store: POST /e refuses a Content-Encoding
// (415), and keeps what the client meant to send (its first 2 KB, and so the site its key names) instead of nothing.
// At most `maxBytes` come out, however much the input would inflate to (a small body can expand a thousandfold).
import { createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from 'node:zlib';
import type { Transform } from 'node:stream';

export interface InflatedHead {
  bytes: Buffer;
  /** more would have come out (or the input broke off): the head is not the whole body */
  cut: boolean;
}

function inflate(make: () => Transform, input: Buffer, maxBytes: number): Promise<InflatedHead | null> {
  return new Promise((resolve) => {
    const z = make();
    const out: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (result: InflatedHead | null) => {
      if (settled) return;
      settled = true;
      z.destroy();
      resolve(result);
    };
    z.on('data', (d: Buffer) => {
      out.push(d);
      size += d.length;
      if (size >= maxBytes) finish({ bytes: Buffer.concat(out).subarray(0, maxBytes), cut: true });
    });
    z.on('end', () => finish(size ? { bytes: Buffer.concat(out), cut: false } : null));
    z.on('error', () => finish(size ? { bytes: Buffer.concat(out), cut: true } : null));
    z.end(input);
  });
}

/** The first `maxBytes` of a body sent with one of gzip, deflate (zlib or raw) or br; null for another encoding or garbage. */
export async function inflateHead(input: Buffer, encoding: string, maxBytes: number): Promise<InflatedHead | null> {
  if (input.length === 0) return null;
  switch (encoding.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return inflate(() => createGunzip(), input, maxBytes);
    case 'deflate':
      // HTTP's deflate is zlib-wrapped; some clients send it raw
      return (await inflate(() => createInflate(), input, maxBytes)) ?? inflate(() => createInflateRaw(), input, maxBytes);
    case 'br':
      return inflate(() => createBrotliDecompress(), input, maxBytes);
    default:
      return null;
  }
}
