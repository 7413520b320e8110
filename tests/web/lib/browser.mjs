// Shared pieces of the browser tests (tests/web/*.test.mjs): headless Debian Chromium driven by
// playwright-core (web/node_modules, pinned by web/package-lock.json), the problems a page must
// not have, and the axe-core accessibility scan.
//
// Environment (set by tests/web/run): SIMPUL_WEB_URL, the front's base URL (https://127.0.0.1:P
// served by simpul-gateway; any certificate is accepted, it is the local CA's), and
// SIMPUL_DEMO_KEYS, the demo's api-keys.env (SIMPUL_KEY_PP_OPERATOR=... lines), and
// NODE_EXTRA_CA_CERTS, the local CA (var/pki/ca.crt), so that apiCall's fetch trusts the gateway.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = path.resolve(here, '../../../web/node_modules');
const { chromium } = await import(path.join(modules, 'playwright-core/index.mjs'));
const axeSource = fs.readFileSync(path.join(modules, 'axe-core/axe.min.js'), 'utf8');

export const BASE = (process.env.SIMPUL_WEB_URL || '').replace(/\/$/, '');
if (!BASE) throw new Error('SIMPUL_WEB_URL is not set (tests/web/run sets it)');

// launch starts headless Chromium from Debian (CHROMIUM overrides the path). The flags keep it
// off the network (this machine's network is closed) and runnable as root.
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--disable-dev-shm-usage'],
  });
}

// newContext is a fresh browser profile (no cookies, no storage) that trusts the local CA's
// certificate, in Indonesian unless `locale` says otherwise.
export async function newContext(browser, { locale = 'id-ID', viewport } = {}) {
  return browser.newContext({ ignoreHTTPSErrors: true, locale,
                              viewport: viewport ?? { width: 1280, height: 900 } });
}

// The pages opened by the running test, with what each received: when the test fails, each is
// written to SIMPUL_WEB_FAILURES (default <tmp>/simpul-web-failures) as a screenshot, and the
// page's visible text and its last answers are printed, so that a failure on a CI machine says
// what the browser showed.
const opened = [];
afterEach(async (t) => {
  const pages = opened.splice(0);
  if (t.passed) return;
  const dir = process.env.SIMPUL_WEB_FAILURES || path.join(os.tmpdir(), 'simpul-web-failures');
  fs.mkdirSync(dir, { recursive: true });
  for (const [i, { page, answers }] of pages.entries()) {
    if (page.isClosed()) continue;
    const name = `${t.name.replace(/[^a-zA-Z0-9]+/g, '-').slice(0, 80)}-${i}`;
    try {
      await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true, timeout: 5000 });
      const text = (await page.evaluate(() => document.querySelector('main')?.innerText ?? ''))
        .replace(/\s+/g, ' ').slice(0, 800);
      console.log(`failed page ${page.url()} (screenshot ${dir}/${name}.png) shows: ${text}`);
    } catch (e) {
      console.log(`failed page ${page.url()}: no screenshot (${e.message})`);
    }
    console.log(`its last answers:\n${answers.slice(-15).join('\n')}`);
  }
});

// openPage opens `path` in a new page of `context` (a new context when given a browser) and
// collects its problems: console errors, uncaught exceptions, Content-Security-Policy
// violations, failed requests and answers of 500 and above. Client errors (4xx) of the API are
// not problems by themselves: a test that provokes one checks the page shows it.
export async function openPage(contextOrBrowser, urlPath, { waitFor = 'main h1' } = {}) {
  const context = typeof contextOrBrowser.newContext === 'function'
    ? await newContext(contextOrBrowser) : contextOrBrowser;
  const page = await context.newPage();
  // A missing element fails its test in 20 s, not 30: a broken front fails fast, a page on a
  // loaded CI machine (the suite runs beside other tests on two cores) still has time.
  page.setDefaultTimeout(20000);
  const problems = [];
  page.on('console', (m) => {
    // Chromium logs every 4xx answer to a fetch as a console error; those are the API's
    // answers (a page shows them), not the page's faults. A 5xx is caught below.
    if (m.type() === 'error' &&
        !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) {
      problems.push(`console error: ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText ?? '';
    // A stream the page closes on leaving is not a failure.
    if (!/ERR_ABORTED/.test(why)) problems.push(`request failed: ${r.url()} ${why}`);
  });
  const answers = [];
  const t0 = Date.now();
  page.on('response', (r) => {
    if (r.status() >= 500) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    answers.push(`  +${Date.now() - t0} ms ${r.status()} ${r.request().method()} ${r.url().replace(BASE, '')}`);
  });
  opened.push({ page, answers });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  await page.goto(`${BASE}${urlPath}`);
  if (waitFor) await page.waitForSelector(waitFor);
  return { page, problems, context };
}

// expectNoProblems fails with every problem the page had.
export function expectNoProblems(problems) {
  assert.deepEqual(problems, [], `the page had problems:\n${problems.join('\n')}`);
}

// axeSerious runs axe-core on the page (evaluated through the DevTools protocol, which the
// page's CSP does not block) and returns the serious and critical violations, each as
// "<rule>: <help> (<selectors>)".
export async function axeSerious(page) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => window.axe.run(document, {
    resultTypes: ['violations'],
  }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

// demoKeys reads the demo's API keys (SIMPUL_KEY_* lines of api-keys.env) into an object.
export function demoKeys() {
  const file = process.env.SIMPUL_DEMO_KEYS;
  if (!file) throw new Error('SIMPUL_DEMO_KEYS is not set (tests/web/run sets it)');
  const keys = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^(?:export\s+)?(SIMPUL_KEY_[A-Z_]+)=["']?([^"'\s]+)/.exec(line);
    if (m) keys[m[1]] = m[2];
  }
  return keys;
}

// apiCall calls the REST API directly from the test (no browser), with an API key when given.
export async function apiCall(urlPath, { method = 'GET', key, body, headers = {} } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (key) h.Authorization = `Bearer ${key}`;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const response = await fetch(`${BASE}${urlPath}`, {
    method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  return { status: response.status, headers: response.headers, json, text };
}
