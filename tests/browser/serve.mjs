#!/usr/bin/env node
// Drives `vodbuild serve` in headless Debian chromium: the index must list each --title with
// its packages verified; each play link (hls.js / HLS, shaka-player / HLS, shaka-player /
// DASH) must play (currentTime advances with decoded frames), offer two or more renditions in
// its menu, and show the chosen one after a switch through the menu; no fatal player error, no
// page exception, no HTTP error or failed request (recovered player warnings are listed).
// Prints one JSON line {ok, titles, cases: [...], errors}; exit 0 when ok.
//
//   node serve.mjs --base http://127.0.0.1:PORT/ --title media/a [--title ...]
//                  [--timeout-ms 90000] [--chromium /usr/bin/chromium] [--screenshots DIR]
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const opts = { titles: [], timeoutMs: 90000, chromium: '/usr/bin/chromium' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const [k, v] = [argv[i], argv[i + 1]];
  if (k === '--base') opts.base = v;
  else if (k === '--title') opts.titles.push(v);
  else if (k === '--timeout-ms') opts.timeoutMs = Number(v);
  else if (k === '--chromium') opts.chromium = v;
  else if (k === '--screenshots') opts.screenshots = v;
  else {
    process.stderr.write(`serve.mjs: unknown option ${k}\n`);
    process.exit(2);
  }
}

const errors = [];
const result = { ok: false, titles: [], cases: [], errors };
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vodbuild-serve-'));
const hardStop = setTimeout(() => {
  errors.push(`hard timeout after ${opts.timeoutMs} ms`);
  process.stdout.write(JSON.stringify(result) + '\n');
  fs.rmSync(userDataDir, { recursive: true, force: true });
  process.exit(1);
}, opts.timeoutMs);

async function playCase(page, href) {
  const c = { href, errors: [] };
  await page.goto(new URL(href, opts.base).href, { waitUntil: 'load' });
  const played = await page
    .waitForFunction(() => {
      const v = document.getElementById('video');
      const q = v.getVideoPlaybackQuality();
      return v.currentTime > 1 && q.totalVideoFrames > 0 && window.vodbuildPreview.renditions.length >= 2;
    }, null, { timeout: 20000 })
    .then(() => true)
    .catch(() => false);
  const state = () => page.evaluate(() => {
    const v = document.getElementById('video');
    const p = window.vodbuildPreview;
    return { t: v.currentTime, size: [v.videoWidth, v.videoHeight], renditions: p.renditions, errors: p.errors, warnings: p.warnings };
  });
  let s = await state();
  c.advancedTo = s.t;
  c.renditions = s.renditions;
  if (!played) c.errors.push(`did not play past 1 s with two renditions in the menu: ${JSON.stringify(s)}`);
  if (played) {
    // Through the menu: the rendition the page shows now is not the one picked.
    const pick = s.renditions.findIndex((r) => r.height !== s.size[1]);
    await page.selectOption('#rendition', String(pick));
    const want = s.renditions[pick];
    const shown = await page
      .waitForFunction((h) => document.getElementById('video').videoHeight === h, want.height, { timeout: 20000 })
      .then(() => true)
      .catch(() => false);
    c.switchedTo = shown ? want : null;
    if (!shown) c.errors.push(`the video never showed ${want.width}x${want.height} after picking it`);
  }
  s = await state();
  c.errors.push(...s.errors);
  c.warnings = s.warnings;
  return c;
}

async function main() {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: opts.chromium,
    headless: true,
    viewport: { width: 1100, height: 700 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.on('pageerror', (e) => errors.push(`page exception: ${e}`));
    page.on('response', (r) => { if (r.status() >= 400) errors.push(`http ${r.status()} ${r.url()}`); });
    page.on('requestfailed', (r) => {
      const why = r.failure() ? r.failure().errorText : 'failed';
      if (!why.includes('ERR_ABORTED')) errors.push(`request failed: ${why} ${r.url()}`);
    });
    await page.goto(opts.base, { waitUntil: 'load' });
    const index = await page.evaluate(() => [...document.querySelectorAll('section.title')].map((s) => ({
      id: s.dataset.id,
      verified: [...s.querySelectorAll('td.ok')].length,
      problems: [...s.querySelectorAll('td.bad')].length,
      links: [...s.querySelectorAll('a.play')].map((a) => a.getAttribute('href')),
    })));
    result.titles = index;
    if (opts.screenshots) await page.screenshot({ path: path.join(opts.screenshots, 'serve.png'), fullPage: true });
    for (const id of opts.titles) {
      const t = index.find((x) => x.id === id);
      if (!t) { errors.push(`the index does not list ${id}`); continue; }
      if (t.problems > 0 || t.verified < 2) errors.push(`${id}: ${t.verified} packages verified, ${t.problems} with problems`);
      if (t.links.length < 3) errors.push(`${id}: expected 3 play links, found ${t.links.length}`);
      for (const href of t.links) {
        result.cases.push(await playCase(page, href));
        if (opts.screenshots && href.includes('player=hlsjs')) {
          await page.screenshot({ path: path.join(opts.screenshots, 'serve-player.png') });
        }
      }
    }
  } finally {
    await Promise.race([context.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
  }
}

try {
  await main();
} catch (e) {
  errors.push(`serve.mjs: ${e && e.stack ? e.stack : e}`);
}
result.ok = errors.length === 0 && result.cases.length > 0 && result.cases.every((c) => c.errors.length === 0 && c.switchedTo);
process.stdout.write(JSON.stringify(result) + '\n');
fs.rmSync(userDataDir, { recursive: true, force: true });
clearTimeout(hardStop);
process.exit(result.ok ? 0 : 1);
