#!/usr/bin/env node
// Plays one HLS/DASH URL in headless Debian chromium with a real player and
// prints one JSON line: {ok, player, url, currentTime, frames, switchedTo, errors, ...}.
// Exit 0 when playback advanced, frames decoded, a forced rendition switch
// happened and no error of any kind was seen; 1 otherwise; 2 on bad usage.
//
//   node play.mjs --page http://127.0.0.1:PORT/player/hls.html \
//                 --url  http://127.0.0.1:PORT/content/out/sample/hls/master.m3u8 \
//                 [--timeout-ms 60000] [--advance-to 2] [--chromium /usr/bin/chromium]
//
// The page (hls.html or shaka.html) must come from the same HTTP server as the
// media; it loads the player from node_modules/ beside it.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function usage(msg) {
  process.stderr.write(`play.mjs: ${msg}\nusage: node play.mjs --page URL --url URL [--timeout-ms N] [--advance-to S] [--chromium PATH]\n`);
  process.exit(2);
}

const opts = { timeoutMs: 60000, advanceTo: 2, chromium: '/usr/bin/chromium' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const [k, v] = [argv[i], argv[i + 1]];
  if (v === undefined) usage(`missing value for ${k}`);
  if (k === '--page') opts.page = v;
  else if (k === '--url') opts.url = v;
  else if (k === '--timeout-ms') opts.timeoutMs = Number(v);
  else if (k === '--advance-to') opts.advanceTo = Number(v);
  else if (k === '--chromium') opts.chromium = v;
  else usage(`unknown option ${k}`);
}
if (!opts.page || !opts.url) usage('--page and --url are required');
if (!(opts.timeoutMs > 0) || !(opts.advanceTo >= 0)) usage('bad --timeout-ms or --advance-to');
if (!fs.existsSync(opts.chromium)) usage(`${opts.chromium} not found (run \`cargo xtask setup\`)`);

const started = Date.now();
const extraErrors = []; // seen by the browser outside the player: HTTP errors, failed requests, page exceptions
const aborted = []; // requests the player cancelled itself (e.g. on a switch): informative only
const consoleLines = [];
let context = null;
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vodbuild-chromium-'));

async function cleanup() {
  if (context) {
    const c = context;
    context = null;
    await Promise.race([c.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
  }
  fs.rmSync(userDataDir, { recursive: true, force: true });
}

function finish(result) {
  result.errors = [...(result.errors || []), ...extraErrors];
  result.failures = result.failures || [];
  result.aborted = aborted;
  result.console = consoleLines.slice(-40);
  result.elapsedMs = Date.now() - started;
  result.ok =
    result.failures.length === 0 &&
    result.errors.length === 0 &&
    typeof result.advancedAt === 'number' &&
    result.advancedAt > opts.advanceTo &&
    result.frames > 0 &&
    result.switchedTo != null;
  process.stdout.write(JSON.stringify(result) + '\n');
  return result.ok ? 0 : 1;
}

async function main() {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: opts.chromium,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (m) => {
    const line = `[${m.type()}] ${m.text()}`;
    consoleLines.push(line.length > 400 ? line.slice(0, 400) + '...' : line);
  });
  page.on('pageerror', (e) => extraErrors.push({ source: 'page exception', message: String(e) }));
  page.on('response', (r) => {
    if (r.status() >= 400) extraErrors.push({ source: 'http', status: r.status(), url: r.url() });
  });
  page.on('requestfailed', (r) => {
    const why = r.failure() ? r.failure().errorText : 'failed';
    if (why.includes('ERR_ABORTED')) aborted.push(r.url());
    else extraErrors.push({ source: 'request failed', error: why, url: r.url() });
  });
  page.on('crash', () => extraErrors.push({ source: 'page crashed' }));

  const remaining = () => opts.timeoutMs - (Date.now() - started);
  await page.goto(opts.page, { waitUntil: 'load', timeout: Math.max(1000, remaining()) });
  // Each wait inside the page gets at most a quarter of the case budget.
  const stageMs = Math.max(2000, Math.floor(opts.timeoutMs / 4));
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve(null), Math.max(1000, remaining() - 3000));
  });
  let result = await Promise.race([
    page.evaluate(([url, o]) => window.vodbuildPlay(url, o), [opts.url, { advanceTo: opts.advanceTo, stageMs }]),
    timeout,
  ]);
  clearTimeout(timer);
  if (result === null) {
    result = (await Promise.race([
      page.evaluate(() => (window.vodbuildSession ? window.vodbuildSession.result() : null)).catch(() => null),
      new Promise((r) => setTimeout(() => r(null), 2000)),
    ])) || { url: opts.url };
    result.failures = [...(result.failures || []), `case timed out after ${opts.timeoutMs} ms`];
  }
  return result;
}

const hardStop = setTimeout(() => {
  // Last resort: never hang the test, even if chromium does not answer.
  const code = finish({ url: opts.url, failures: [`hard timeout after ${opts.timeoutMs + 10000} ms`] });
  fs.rmSync(userDataDir, { recursive: true, force: true });
  process.exit(code);
}, opts.timeoutMs + 10000);

let code;
try {
  code = finish(await main());
} catch (e) {
  code = finish({ url: opts.url, failures: [`play.mjs: ${e && e.stack ? e.stack : e}`] });
}
await cleanup();
clearTimeout(hardStop);
process.exit(code);
