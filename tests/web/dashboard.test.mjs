// Browser tests of the performance dashboard "/kinerja" (issue #17, point 2), against the demo
// data (deploy/demo/load_monitoring.py: survey responses and deliveries of every month of the
// year for Padang Pariaman's civil registry, region 13.05 in province 13, and Kota Bogor's
// one-stop service, 32.71).
import assert from 'node:assert/strict';
import os from 'node:os';
import { after, before, test } from 'node:test';
import { apiCall, axeSerious, demoKeys, expectNoProblems, launch, newContext, openPage }
  from './lib/browser.mjs';

const UNIT = 'disdukcapil-padang-pariaman';
const PROVINCE = '13';
// The render time of a province dashboard: navigation start to charts drawn. Issue #17's
// target is under a second, measured on a quiet machine by bench/web-dashboard (which sets
// SIMPUL_WEB_DASHBOARD_BUDGET_MS=1000). In the suite, which runs beside other tests on two
// cores, the bound only catches a page gone pathologically slow.
const BUDGET_MS = Number(process.env.SIMPUL_WEB_DASHBOARD_BUDGET_MS || 5000);

// The current month and year in WIB, as the page's default period.
function wibNow() {
  const d = new Date(Date.now() + 7 * 3600 * 1000);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1 };
}

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// chartPainted tells whether a chart's canvas holds pixels of its series colour (#0b5d4b, a
// green the axes and grid never use): the line or points were drawn, not only the axes.
async function chartPainted(page, id) {
  return page.evaluate((chartId) => {
    const canvas = document.querySelector(`[data-testid=chart-${chartId}] canvas`);
    if (!canvas || !canvas.width || !canvas.height) return 0;
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let series = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 100 && data[i + 1] - data[i] > 30 && data[i + 1] > data[i + 2]) series++;
    }
    return series;
  }, id);
}

// openProvince opens the province dashboard in a fresh context (no cache, no cookies) and
// returns the time from navigation start to the last of its three charts drawn.
async function openProvince(year) {
  const opened = await openPage(browser, `/kinerja?scope=region&id=${PROVINCE}&period=${year}`,
                                { waitFor: null });
  const charts = ['ikm', 'ontime', 'complaints'];
  await opened.page.waitForFunction((ids) => ids.every((id) => document.querySelector(
    `[data-testid=chart-${id}][data-drawn=true]`)), charts, { timeout: 15000 });
  // Navigation start (the performance time origin) to the last chart drawn.
  const drawnAt = await opened.page.evaluate((ids) => Math.max(...ids.map((id) => Number(
    document.querySelector(`[data-testid=chart-${id}]`).dataset.drawnAt))), charts);
  return { ...opened, drawnAt };
}

test('a province dashboard draws its charts in under a second', async () => {
  const { year } = wibNow();
  // The browser process warms up once (its first page pays for starting renderers); then
  // three fresh visits, of which the median is held to the budget.
  await (await openProvince(year)).context.close();
  const times = [];
  for (let i = 0; i < 2; i++) {
    const visit = await openProvince(year);
    times.push(visit.drawnAt);
    await visit.context.close();
  }
  const { page, problems, context, drawnAt } = await openProvince(year);
  try {
    times.push(drawnAt);
    const median = [...times].sort((a, b) => a - b)[1];
    console.log(`province ${PROVINCE} dashboard: charts drawn ${times.join(', ')} ms after ` +
                `navigation start, median ${median} ms (load average ` +
                `${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores)`);
    assert.ok(median < BUDGET_MS, `charts drawn after ${median} ms (median), over the ` +
              `${BUDGET_MS} ms budget`);
    for (const id of ['ikm', 'ontime', 'complaints']) {
      assert.ok(await chartPainted(page, id) > 10, `chart ${id} is blank`);
    }
    await page.waitForSelector('[data-testid=ikm]');

    // The figures explain themselves: IKM with grade, the nine elements, respondents and the
    // minimum sample, the indicators without evidence.
    assert.match(await page.textContent('[data-testid=ikm]'), /^\d{2},\d{2}$/);
    assert.match(await page.textContent('[data-testid=grade]'), /^[ABCD]$/);
    assert.equal(await page.locator('[data-testid=elements] tbody tr').count(), 9);
    assert.match(await page.textContent('[data-testid=sample-note]'), /sampel minimum \d+/);
    assert.match(await page.textContent('[data-testid=missing-evidence]'), /belum memiliki bukti/);
    assert.match(await page.textContent('[data-testid=policy]'), /Standar pelayanan tersedia/);
    assert.match(await page.textContent('[data-testid=scope-title]'), /Wilayah 13/);
    // The ranking names its units (read after the ids arrive).
    await page.waitForFunction(() => /Dinas Kependudukan dan Pencatatan Sipil Kabupaten Padang/
      .test(document.querySelector('[data-testid=ranking-table]')?.textContent ?? ''));
    // Every chart has its table alternative.
    assert.equal(await page.locator('[data-testid=chart-ikm] table tbody tr').count(), 5);

    assert.deepEqual(await axeSerious(page), []);
    expectNoProblems(problems);
  } finally {
    await context.close();
  }
});

test('the scope and period pickers are kept in the URL', async () => {
  const { year } = wibNow();
  const { page, problems, context } = await openPage(browser, '/kinerja');
  try {
    await page.waitForSelector('[data-testid=ikm]');
    assert.match(await page.textContent('[data-testid=scope-title]'), /Seluruh Indonesia/);
    await page.selectOption('[data-testid=scope-picker]', 'agency');
    await page.selectOption('[data-testid=agency-picker]', 'kota-bogor');
    await page.selectOption('[data-testid=period-kind]', 'Q');
    await page.selectOption('[data-testid=period-index]', '1');
    await page.click('[data-testid=dashboard-show]');
    await page.waitForURL(new RegExp(`/kinerja\\?scope=agency&id=kota-bogor&period=${year}-Q1$`));
    await page.waitForFunction(() => /Kota Bogor/.test(
      document.querySelector('[data-testid=scope-title]')?.textContent ?? ''));
    assert.match(await page.textContent('[data-testid=scope-title]'), /Triwulan I/);
    await page.waitForSelector('[data-testid=ikm]');

    // A bad region code is refused in the form, naming the field's format; the URL stays.
    const before = page.url();
    await page.selectOption('[data-testid=scope-picker]', 'region');
    await page.fill('[data-testid=region-input]', '13.5');
    await page.click('[data-testid=dashboard-show]');
    assert.match(await page.textContent('#dash-region-error'), /PP\.KK/);
    assert.equal(page.url(), before);
    expectNoProblems(problems);
  } finally {
    await context.close();
  }
});

test('a period that has not begun is refused by the page, without calling the API', async () => {
  const { year } = wibNow();
  const { page, problems, context } = await openPage(browser, `/kinerja?period=${year + 1}-Q1`);
  const asked = [];
  page.on('request', (r) => { if (r.url().includes('/v1/figures')) asked.push(r.url()); });
  try {
    await page.waitForSelector('[data-testid=not-begun]');
    assert.match(await page.textContent('[data-testid=not-begun]'), /belum dimulai/);
    assert.equal(await page.locator('[data-testid=ikm]').count(), 0);
    assert.deepEqual(asked, []);
    expectNoProblems(problems);
  } finally {
    await context.close();
  }
});

test('a survey response submitted through the API shows up live, without a reload',
     async () => {
  const keys = demoKeys();
  const { year, month } = wibNow();
  const { page, problems, context } = await openPage(
    browser, `/kinerja?scope=unit&id=${UNIT}&period=${year}-M${month}`);
  const key = `web-test-live-${Date.now()}`;
  try {
    await page.waitForSelector('[data-testid=live-status][data-state=live]', { timeout: 10000 });
    await page.waitForSelector('[data-testid=respondents]');
    const beforeText = await page.textContent('[data-testid=respondents]');
    const before = Number(beforeText.replace(/\D/g, ''));
    const statusBefore = await page.textContent('[data-testid=live-status]');
    assert.match(statusBefore, /diperbarui pada/);
    await page.evaluate(() => { window.__notReloaded = true; });
    // Let the clock of "updated at" move on (it shows seconds).
    await new Promise((r) => setTimeout(r, 1100));

    const submitted = await apiCall('/v1/surveyResponses', {
      method: 'POST', key: keys.SIMPUL_KEY_SMS,
      body: { responses: [{ idempotency_key: key, unit_id: UNIT,
                            response_time: new Date().toISOString(),
                            answers: [4, 4, 4, 4, 4, 4, 4, 4, 4] }] },
    });
    assert.equal(submitted.status, 200, submitted.text);
    assert.equal(submitted.json.applied, 1);

    await page.waitForFunction((n) => Number(document.querySelector(
      '[data-testid=respondents]').textContent.replace(/\D/g, '')) === n, before + 1,
    { timeout: 10000 });
    assert.notEqual(await page.textContent('[data-testid=live-status]'), statusBefore);
    assert.equal(await page.evaluate(() => window.__notReloaded), true);
    expectNoProblems(problems);

    // Leaving the page closes the stream.
    const closed = new Promise((resolve) => page.on('requestfailed', (r) => {
      if (r.url().includes('/v1/figures:watch')) resolve(r.failure()?.errorText);
    }));
    await page.click('header nav a[href="/"]');
    await page.waitForSelector('[data-testid=standards-search]');
    assert.match(await Promise.race([closed, new Promise((r) => setTimeout(() => r('open'), 5000))]),
                 /ERR_ABORTED/);
  } finally {
    // Take the test's response back, so the demo figures stay as loaded.
    await apiCall('/v1/voids', { method: 'POST', key: keys.SIMPUL_KEY_SMS, body: {
      reason: 'survey response of the dashboard browser test, taken back',
      survey_responses: { unit_id: UNIT, idempotency_keys: [key] } } });
    await context.close();
  }
});

test('the English switch changes the dashboard\'s labels', async () => {
  const context = await newContext(browser);
  const { year } = wibNow();
  const { page, problems } = await openPage(context, `/kinerja?scope=unit&id=${UNIT}&period=${year}`);
  try {
    await page.waitForSelector('[data-testid=ikm]');
    assert.equal(await page.textContent('main h1'), 'Kinerja pelayanan publik');
    await page.click('[data-testid=lang-switch]');
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    assert.equal(await page.textContent('main h1'), 'Public service performance');
    assert.match(await page.textContent('#dash-ikm'), /Community Satisfaction Index/);
    assert.match(await page.textContent('[data-testid=element-U1]'), /Requirements/);
    assert.match(await page.textContent('[data-testid=chart-ikm] figcaption'), /IKM per period/);
    assert.match(await page.textContent('[data-testid=policy]'), /Standard available/);
    // A unit has no ranking of its own; its promised times are listed.
    assert.equal(await page.locator('[data-testid=ranking]').count(), 0);
    await page.waitForSelector('[data-testid=promised] tbody tr');
    assert.deepEqual(await axeSerious(page), []);
    expectNoProblems(problems);
  } finally {
    await context.close();
  }
});
