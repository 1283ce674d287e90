// A site's first-party proxy for the collector's POST /e (the tag's data-api="/fb") that answers each request as a test
// plans it (a status, a Retry-After) or forwards it to the collector, and logs what the browser sent and got.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What the proxy does with a request: answer with a status (and a Retry-After), or forward it to the collector. */
export type Answer = { status: number; retryAfter?: number } | 'pass';
export type Wire = { i: string; n: string; t: number; u: string };
export type Logged = { at: number; status: number; events: Wire[]; bytes: number };

/**
 * A first-party proxy for POST /fb/e: each request takes the next planned answer (`then` once the plan is used up),
 * and is logged with its events and the status the browser got.
 */
export function plannedProxy(collector: () => string, plan: Answer[], then: () => Answer = () => 'pass') {
  const log: Logged[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      let events: Wire[] = [];
      try {
        events = JSON.parse(body.toString('utf8')).e ?? [];
      } catch {
        /* logged with no events */
      }
      const answer = plan.length ? plan.shift()! : then();
      if (answer == 'pass') {
        const r = await fetch(collector() + '/e', {
          method: 'POST',
          headers: { 'content-type': String(req.headers['content-type'] ?? 'text/plain'), 'user-agent': String(req.headers['user-agent']) },
          body,
        });
        log.push({ at: Date.now(), status: r.status, events, bytes: body.length });
        res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await r.arrayBuffer()));
        return;
      }
      log.push({ at: Date.now(), status: answer.status, events, bytes: body.length });
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (answer.retryAfter !== undefined) headers['retry-after'] = String(answer.retryAfter);
      res.writeHead(answer.status, headers).end(JSON.stringify({ error: { code: 'planned', message: 'planned answer' } }));
    });
  };
  return { log, handler };
}

