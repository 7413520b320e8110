// Browser tests of the standards pages (issue #17, point 2): "/" searches the published
// standards, "/standar/<service_id>" shows one. Run by tests/web/run against the demo data
// (deploy/demo: Kabupaten Padang Pariaman's civil registry, Kota Bogor's one-stop service).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiCall, axeSerious, BASE, expectNoProblems, launch, newContext, openPage }
  from './lib/browser.mjs';

const DEMO_SERVICE = 'akta-kelahiran-padang-pariaman';
const DEMO_NAME = 'Penerbitan Akta Kelahiran';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('the search page loads, finds a demo service by keyword and keeps the query in the URL',
     async () => {
  const { page, problems, context } = await openPage(browser, '/');
  try {
    await page.waitForSelector('[data-testid=standard-result]');
    assert.equal(await page.textContent('main h1'), 'Cari standar pelayanan');
    await page.fill('[data-testid=search-input]', 'akta kelahiran');
    await page.click('[data-testid=search-button]');
    await page.waitForURL(/\?q=akta\+kelahiran$/);
    await page.waitForFunction(() => {
      const cards = document.querySelectorAll('[data-testid=standard-result]');
      return cards.length === 1;
    });
    const card = page.locator('[data-testid=standard-result]');
    assert.equal(await card.locator('h3').textContent(), DEMO_NAME);
    const text = await card.textContent();
    assert.match(text, /Dinas Kependudukan dan Pencatatan Sipil Kabupaten Padang Pariaman/);
    assert.match(text, /Pemerintah Kabupaten Padang Pariaman/);
    assert.match(text, /1 hari kerja/);
    assert.match(text, /Tidak dipungut biaya/);
    assert.deepEqual(await axeSerious(page), []);
    expectNoProblems(problems);

    // The query survives a reload (it is in the URL).
    await page.reload();
    await page.waitForSelector('[data-testid=standard-result]');
    assert.equal(await page.inputValue('[data-testid=search-input]'), 'akta kelahiran');
    assert.equal(await page.locator('[data-testid=standard-result]').count(), 1);
    expectNoProblems(problems);
  } finally {
    await context.close();
  }
});

test('the agency filter narrows the results to that agency\'s units', async () => {
  const { page, problems, context } = await openPage(browser, '/');
  try {
    await page.waitForSelector('[data-testid=standard-result]');
    const all = await page.locator('[data-testid=standard-result]').count();
    await page.selectOption('[data-testid=agency-filter]', 'kota-bogor');
    await page.waitForSelector('[data-testid=unit-filter]:not([disabled])');
    await page.click('[data-testid=search-button]');
    await page.waitForURL(/agency=kota-bogor/);
    await page.waitForFunction((n) => document.querySelectorAll(
      '[data-testid=standard-result]').length < n, all);
    const texts = await page.locator('[data-testid=standard-result]').allTextContents();
    assert.ok(texts.length > 0, 'Kota Bogor has demo standards');
    for (const text of texts) assert.match(text, /Pemerintah Kota Bogor/);
    expectNoProblems(problems);
  } finally {
    await context.close();
  }
});

test('a search result opens its standard: components, maklumat, history and links', async () => {
  const { page, problems, context } = await openPage(browser, '/?q=akta+kelahiran');
  try {
    await page.click(`[data-testid=standard-link]:has-text("${DEMO_NAME}")`);
    await page.waitForURL(`${BASE}/standar/${DEMO_SERVICE}`);
    await page.waitForSelector('[data-testid=standard-components]');
    assert.equal(await page.textContent('[data-testid=standard-title]'), DEMO_NAME);
    assert.match(await page.textContent('[data-testid=standard-unit]'),
                 /Dinas Kependudukan dan Pencatatan Sipil Kabupaten Padang Pariaman/);

    // The public components, lists as lists.
    assert.ok(await page.locator('[data-testid=component-requirements] li').count() >= 3);
    assert.ok(await page.locator('[data-testid=component-procedure] ol > li').count() >= 3);
    assert.match(await page.textContent('[data-testid=component-time]'), /1 hari kerja/);
    assert.match(await page.textContent('[data-testid=component-fee]'), /Tidak dipungut biaya/);
    assert.ok(await page.locator('[data-testid=component-products] li').count() >= 1);
    assert.ok(await page.locator('[data-testid=component-complaints] table tbody tr').count() >= 1);

    // The unit's published maklumat, the history, the intake questions.
    assert.match(await page.textContent('[data-testid=maklumat-text]'), /MAKLUMAT PELAYANAN/);
    const rows = page.locator('[data-testid=history-row]');
    assert.ok(await rows.count() >= 1);
    assert.match(await rows.first().textContent(), /Berlaku/);
    assert.match(await page.textContent('[data-testid=intake-questions]'), /Nomor permohonan/);

    assert.equal(await page.getAttribute('[data-testid=complain-link]', 'href'),
                 `/pengaduan/baru?service=${DEMO_SERVICE}`);
    assert.equal(await page.getAttribute('[data-testid=performance-link]', 'href'),
                 '/kinerja?scope=unit&id=disdukcapil-padang-pariaman');
    // The management components are internal: the public view never shows them.
    assert.doesNotMatch(await page.textContent('main'), /Pengawasan internal|Jumlah pelaksana/);

    assert.deepEqual(await axeSerious(page), []);
    expectNoProblems(problems);
  } finally {
    await context.close();
  }
});

test('the English switch changes the labels of both pages', async () => {
  const context = await newContext(browser);
  const { page, problems } = await openPage(context, `/standar/${DEMO_SERVICE}`);
  try {
    await page.waitForSelector('[data-testid=standard-components]');
    assert.match(await page.textContent('[data-testid=component-requirements] h3'), /Persyaratan/);
    await page.click('[data-testid=lang-switch]');
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    assert.match(await page.textContent('[data-testid=component-requirements] h3'), /Requirements/);
    assert.match(await page.textContent('[data-testid=component-time]'), /1 working day/);
    assert.match(await page.textContent('[data-testid=complain-link]'),
                 /File a complaint about this service/);
    assert.match(await page.textContent('[data-testid=history]'), /Version history/);

    await page.click('a[href="/"]:has-text("Back to the search")');
    await page.waitForSelector('[data-testid=standard-result]');
    assert.equal(await page.textContent('main h1'), 'Search service standards');
    assert.equal(await page.textContent('label[for=std-q]'), 'Keywords');
    assert.deepEqual(await axeSerious(page), []);
    expectNoProblems(problems);
  } finally {
    await context.close();
  }
});

test('a later result page (?page=) shows the rest and a way back to the first page', async () => {
  const first = await apiCall('/v1/standards?page.page_size=2');
  assert.equal(first.status, 200, first.text);
  assert.ok(first.json.next_page_token, 'the demo has more than two standards');
  const { page, problems, context } = await openPage(
    browser, `/?page=${encodeURIComponent(first.json.next_page_token)}`);
  try {
    await page.waitForSelector('[data-testid=standard-result]');
    const names = await page.locator('[data-testid=standard-result] h3').allTextContents();
    for (const v of first.json.versions) assert.ok(!names.includes(v.service_name), v.service_name);
    await page.click('a:has-text("Halaman pertama")');
    await page.waitForURL(`${BASE}/`);
    await page.waitForFunction((n) => document.querySelectorAll(
      '[data-testid=standard-result]').length > n, names.length);
    expectNoProblems(problems);
  } finally {
    await context.close();
  }
});

test('an unknown service shows the API\'s error instead of an empty page', async () => {
  const { page, context } = await openPage(browser, '/standar/no-such-service-xyz');
  try {
    await page.waitForSelector('main [role=alert]');
    assert.match(await page.textContent('main [role=alert]'), /no-such-service-xyz|tidak ditemukan/i);
  } finally {
    await context.close();
  }
});
