// The front as a whole: every page loads with the demo data and no problem, the shell's
// language switch, the security headers of what the gateway serves, and the JavaScript budget
// of every page (300 KB gzipped, from the build's manifest.json).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { apiCall, axeSerious, expectNoProblems, launch, openPage } from './lib/browser.mjs';

const PAGES = ['/', '/standar/akta-kelahiran-padang-pariaman', '/kinerja', '/pengaduan',
               '/pengaduan/baru', '/lacak', '/petugas', '/api'];

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

for (const urlPath of PAGES) {
  test(`${urlPath} loads with the demo data, no problem and no serious accessibility violation`,
       async () => {
         const { page, problems, context } = await openPage(browser, urlPath);
         // Let the page's own calls finish (streams stay open: no networkidle).
         await page.waitForTimeout(800);
         assert.notEqual((await page.textContent('main h1')).trim(), '');
         expectNoProblems(problems);
         assert.deepEqual(await axeSerious(page), []);
         await context.close();
       });
}

test('the language switch turns the shell to English and back, and is remembered', async () => {
  const { page, problems, context } = await openPage(browser, '/');
  const nav = () => page.textContent('header nav');
  assert.match(await nav(), /Standar pelayanan/);
  assert.equal(await page.getAttribute('html', 'lang'), 'id');
  await page.click('[data-testid=lang-switch]');
  assert.match(await nav(), /Service standards/);
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await page.reload();
  await page.waitForSelector('main h1');
  assert.match(await nav(), /Service standards/, 'the choice survives a reload');
  await page.click('[data-testid=lang-switch]');
  assert.match(await nav(), /Standar pelayanan/);
  expectNoProblems(problems);
  await context.close();
});

test('the gateway serves the front with a strict CSP, no inline script, and hashed assets', async () => {
  const index = await apiCall('/kinerja', { headers: { Accept: 'text/html' } });
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type'), /^text\/html/);
  const csp = index.headers.get('content-security-policy') ?? '';
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
  for (const tag of index.text.match(/<script\b[^>]*>/g) ?? []) {
    assert.match(tag, /\ssrc="\/assets\/[^"]+\.js"/, `an inline script: ${tag}`);
  }
  assert.doesNotMatch(index.text, /\son[a-z]+=/i, 'no inline event handler');
  const asset = index.text.match(/src="(\/assets\/[^"]+\.js)"/)[1];
  const js = await apiCall(asset, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(js.status, 200);
  assert.match(js.headers.get('cache-control'), /immutable/);
  assert.match(js.headers.get('content-type'), /javascript/);
  assert.equal((await apiCall('/assets/no-such-file.js')).status, 404);
  // Nothing from another origin: every src and href of the shell is local.
  for (const [, ref] of index.text.matchAll(/(?:src|href)="([^"]+)"/g)) {
    assert.match(ref, /^\//, `a reference off this origin: ${ref}`);
  }
});

test('every page loads at most 300 KB of JavaScript gzipped', () => {
  const manifest = JSON.parse(fs.readFileSync(
    path.join(process.env.SIMPUL_WEB_ROOT, 'manifest.json'), 'utf8'));
  const pages = Object.entries(manifest.pages);
  assert.ok(pages.length >= 8, `pages in the manifest: ${pages.map(([p]) => p)}`);
  for (const [name, page] of pages) {
    console.log(`page ${name}: ${(page.js_gzip_bytes / 1024).toFixed(1)} KB of JavaScript gzipped`);
    assert.ok(page.js_gzip_bytes <= 300 * 1024, `${name}: ${page.js_gzip_bytes} bytes`);
  }
});

test('a path that is no page shows "not found" in the shell', async () => {
  const { page, problems, context } = await openPage(browser, '/tidak-ada');
  assert.match(await page.textContent('main h1'), /tidak ditemukan/);
  expectNoProblems(problems);
  await context.close();
});
