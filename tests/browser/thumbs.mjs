#!/usr/bin/env node
// Asks shaka-player in headless chromium for thumbnails and prints one JSON line
// (see thumbs.html): {player, tracks, thumbnails: [{time, uri, x, y, width, height}], errors}.
//
//   node thumbs.mjs --page URL --url MANIFEST_URL [--vtt VTT_URL] --times 0.5,2.5 [--chromium PATH]
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const opts = { chromium: '/usr/bin/chromium', vtt: null, times: [] };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const [k, v] = [argv[i], argv[i + 1]];
  if (k === '--page') opts.page = v;
  else if (k === '--url') opts.url = v;
  else if (k === '--vtt') opts.vtt = v;
  else if (k === '--times') opts.times = v.split(',').map(Number).slice(0, 100);
  else if (k === '--chromium') opts.chromium = v;
  else {
    process.stderr.write(`thumbs.mjs: unknown option ${k}\n`);
    process.exit(2);
  }
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vodbuild-chromium-'));
const hardStop = setTimeout(() => {
  process.stdout.write(JSON.stringify({ errors: [{ message: 'thumbs.mjs: hard timeout after 60 s' }] }) + '\n');
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(1);
}, 60000);
const http = [];
let result;
const context = await chromium.launchPersistentContext(dir, {
  executablePath: opts.chromium,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
  const page = context.pages()[0] || (await context.newPage());
  page.on('response', (r) => {
    if (r.status() >= 400) http.push({ source: 'http', status: r.status(), url: r.url() });
  });
  page.on('pageerror', (e) => http.push({ source: 'page exception', message: String(e) }));
  await page.goto(opts.page, { waitUntil: 'load', timeout: 20000 });
  result = await page.evaluate(([u, v, t]) => window.vodbuildThumbs(u, v, t), [opts.url, opts.vtt, opts.times]);
} catch (e) {
  result = { errors: [{ message: `thumbs.mjs: ${e && e.stack ? e.stack : e}` }] };
}
result.errors = [...(result.errors || []), ...http];
process.stdout.write(JSON.stringify(result) + '\n');
await context.close().catch(() => {});
fs.rmSync(dir, { recursive: true, force: true });
clearTimeout(hardStop);
process.exit(result.errors.length === 0 ? 0 : 1);
