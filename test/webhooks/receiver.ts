// A real HTTP receiver for webhook tests: node:http on 127.0.0.1, records every request, answers as told.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** What to answer: a status code, or 'hang' to never answer. */
export type Answer = number | 'hang';

export interface Receiver {
  url: string;
  port: number;
  requests: Received[];
  /** most requests open at the same time so far */
  maxConcurrent: number;
  answer: (next: (n: number) => Answer) => void;
  close(): Promise<void>;
}

export async function startReceiver(port = 0, answerDelayMs = 0): Promise<Receiver> {
  let decide: (n: number) => Answer = () => 200;
  let open = 0;
  const requests: Received[] = [];
  const receiver = { requests, maxConcurrent: 0 } as Receiver;
  const server: Server = createServer((req, res) => {
    open++;
    receiver.maxConcurrent = Math.max(receiver.maxConcurrent, open);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      const answer = decide(requests.length);
      if (answer === 'hang') return;
      setTimeout(() => {
        open--;
        res.writeHead(answer, { 'content-type': 'text/plain' }).end('ok');
      }, answerDelayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  receiver.port = actual;
  receiver.url = `http://127.0.0.1:${actual}/hooks/funnelbeam`;
  receiver.answer = (next) => (decide = next);
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}
