// Second baseline for the ingest benchmark: Hono on @hono/node-server with a POST route that reads the body as text
// and answers 204, as /e does before any of its own work. (a2)/(a) is the framework's own share of the budget.
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';

const app = new Hono();
app.post('/e', async (c) => {
  await c.req.text();
  return c.body(null, 204);
});
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
  console.log(JSON.stringify({ listening: `http://127.0.0.1:${info.port}` }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
