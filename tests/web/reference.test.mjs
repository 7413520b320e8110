// Browser tests of the API reference page (/api, web/src/pages/reference.js): it renders the
// gateway's OpenAPI document (/openapi.json) whole, searches it, opens deep links, and passes
// axe without serious violations.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { axeSerious, BASE, expectNoProblems, launch, openPage } from './lib/browser.mjs';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
let browser;
let doc;

before(async () => {
  browser = await launch();
  const response = await fetch(`${BASE}/openapi.json`);
  assert.equal(response.status, 200, '/openapi.json must be served');
  doc = await response.json();
});
after(async () => { await browser?.close(); });

function operationCount(d) {
  let n = 0;
  for (const item of Object.values(d.paths)) n += METHODS.filter((m) => item[m]).length;
  return n;
}

test('the reference lists every operation of the document, without problems', async () => {
  const { page, problems, context } = await openPage(browser, '/api',
    { waitFor: '[data-testid="operation-count"]' });
  try {
    const expected = operationCount(doc);
    assert.ok(expected > 80, `the document has ${expected} operations`);
    const shown = await page.getAttribute('[data-testid="operation-count"]', 'data-count');
    assert.equal(Number(shown), expected);
    assert.equal(await page.locator('[data-testid="operation"]').count(), expected);
    // One section per tag, the security schemes and the error body.
    assert.equal(await page.locator('[data-testid="tag-section"]').count(), doc.tags.length);
    const schemes = await page.locator('[data-testid="security-schemes"] tbody tr').count();
    assert.equal(schemes, Object.keys(doc.components.securitySchemes).length);
    const errorBody = await page.locator('[data-testid="error-body"]').innerText();
    for (const field of ['code', 'status', 'message', 'field_violations', 'request_id']) {
      assert.ok(errorBody.includes(field), `the error body shows ${field}`);
    }
    assert.equal(await page.getAttribute('[data-testid="download"]', 'href'), '/openapi.json');
    assert.deepEqual(await axeSerious(page), []);
    expectNoProblems(problems);
  } finally {
    await context.close();
  }
});

test('a search finds FileComplaint', async () => {
  const { page, problems, context } = await openPage(browser, '/api',
    { waitFor: '[data-testid="operation-count"]' });
  try {
    await page.fill('[data-testid="api-search"]', 'FileComplaint');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="operation"]')
      .length < 10);
    const ids = await page.locator('[data-testid="operation"]').evaluateAll(
      (nodes) => nodes.map((n) => n.dataset.operationId));
    assert.ok(ids.includes('Complaints_FileComplaint'), `found: ${ids.join(', ')}`);
    assert.ok(ids.every((id) => id.toLowerCase().includes('filecomplaint')), ids.join(', '));
    const status = await page.locator('[data-testid="match-count"]').innerText();
    assert.match(status, new RegExp(`${ids.length}\\b`));
    // A search that matches nothing says so.
    await page.fill('[data-testid="api-search"]', 'no-such-operation-xyz');
    await page.waitForFunction(() => !document.querySelector('[data-testid="operation"]'));
    assert.match(await page.locator('[data-testid="match-count"]').innerText(),
      /Tidak ada operasi/);
    expectNoProblems(problems);
  } finally {
    await context.close();
  }
});

test('a deep link opens its operation, with roles, parameters and schemas', async () => {
  const { page, problems, context } = await openPage(browser, '/api#Complaints_FileComplaint',
    { waitFor: 'details#Complaints_FileComplaint[open] .op-body' });
  try {
    const op = page.locator('details#Complaints_FileComplaint');
    const text = await op.innerText();
    assert.match(text, /POST/);
    assert.match(text, /\/v1\/complaints/);
    assert.match(text, /201/);
    assert.match(text, /public/);  // its roles
    const expectedSummary = doc.paths['/v1/complaints'].post.summary;
    assert.ok(text.includes(expectedSummary), `shows the summary "${expectedSummary}"`);
    // The request schema opens on demand, its $refs followed.
    await op.locator('details.schema > summary').first().click();
    await op.locator('details.schema[open] ul.props').first().waitFor();
    const body = await op.locator('details.schema[open]').first().innerText();
    assert.match(body, /service_id/);
    // Another operation's link moves there (hash navigation, no reload).
    await page.evaluate(() => { window.location.hash = '#Registry_GetAgency'; });
    await page.waitForSelector('details#Registry_GetAgency[open] .op-body');
    assert.match(await page.locator('details#Registry_GetAgency').innerText(),
      /\/v1\/agencies\/\{id\}/);
    assert.deepEqual(await axeSerious(page), []);
    expectNoProblems(problems);
  } finally {
    await context.close();
  }
});

test('the chrome switches to English', async () => {
  const { page, problems, context } = await openPage(browser, '/api',
    { waitFor: '[data-testid="operation-count"]' });
  try {
    assert.equal(await page.locator('main h1').innerText(), 'Referensi API');
    await page.click('[data-testid="lang-switch"]');
    await page.waitForFunction(() => document.querySelector('main h1')?.textContent ===
      'API reference');
    assert.match(await page.locator('[data-testid="operation-count"]').innerText(),
      /operations/);
    expectNoProblems(problems);
  } finally {
    await context.close();
  }
});
