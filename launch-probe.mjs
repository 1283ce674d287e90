import { chromium } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
const extra = process.argv.slice(2);
const t = Date.now();
const ctx = await chromium.launchPersistentContext(mkdtempSync('/tmp/probe-'), { executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extra] });
const launched = Date.now() - t;
for (let i = 0; i < Number(process.env.N ?? 20); i++) { const p = await ctx.newPage(); await p.setContent('<h1>hi</h1><p>' + 'x '.repeat(500) + '</p>'); await p.close(); }
const done = Date.now() - t;
await new Promise((r) => setTimeout(r, 5000));
await ctx.close();
console.log('launch', launched, 'ms; 20 pages', done - launched, 'ms');
