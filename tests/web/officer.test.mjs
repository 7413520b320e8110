// The officer console (/petugas, issue #17 point 3) in a real browser against the running
// system: sign-in through the form into an HttpOnly session, the agency's inbox with deadline
// flags and live updates, verifying a freshly filed case through the UI (and the complainant's
// tracking then shows it), CSRF refusal, sign-out, stale-view and field errors, and that a
// SECRET complainant's identity never reaches the browser of a role that may not see it.
//
//   SIMPUL_WEB_URL=http://127.0.0.1:<port> SIMPUL_DEMO_KEYS=var/demo/api-keys.env \
//     node --test tests/web/officer.test.mjs
// (against web/tools/dev-server.mjs --emulate-session until the gateway serves /web/session).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, test } from 'node:test';
import { apiCall, axeSerious, demoKeys, expectNoProblems as expectNone, launch, openPage } from './lib/browser.mjs';

// Chromium logs every 4xx answer to fetch() as a console error ("Failed to load resource"); the
// console meets 401 (GET /web/session before sign-in) and the 4xx refusals these tests provoke
// on purpose. Those lines are not problems (browser.mjs: "client errors (4xx) of the API are not
// problems by themselves"); everything else is.
function expectNoProblems(problems) {
  expectNone(problems.filter((p) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(p)));
}

const keys = demoKeys();
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// fileComplaint files a case as the public web form does (no key) about a Padang Pariaman
// service and returns { code, secret }.
async function fileComplaint({ confidentiality, complainant, description } = {}) {
  const r = await apiCall('/v1/complaints', {
    method: 'POST',
    body: {
      idempotency_key: `web-officer-test-${crypto.randomBytes(12).toString('hex')}`,
      report_type: 'REPORT_TYPE_COMPLAINT',
      channel: 'CHANNEL_WEB',
      service_id: 'ktp-el-padang-pariaman',
      title: 'Uji konsol petugas',
      description: description ?? 'Antrean perekaman KTP-el tidak bergerak sejak pagi (uji konsol).',
      ...(complainant ? { complainant } : {}),
      ...(confidentiality ? { confidentiality } : {}),
    },
  });
  assert.ok(r.status === 200 || r.status === 201, r.text);
  assert.ok(r.json.tracking_code && r.json.secret, r.text);
  return { code: r.json.tracking_code, secret: r.json.secret };
}

// signIn opens /petugas in a fresh profile and signs in through the form with `key`.
async function signIn(key, path = '/petugas') {
  const opened = await openPage(browser, path);
  const { page } = opened;
  await page.waitForSelector('[data-testid="signin-form"]');
  await page.fill('[data-testid="signin-key"]', key);
  await page.click('[data-testid="signin-submit"]');
  await page.waitForSelector('[data-testid="who"]');
  return opened;
}

// atLeastCases files cases until the demo agency has `n` (the paging below needs more than one
// page of ten, and a fresh deploy/run has fewer).
async function atLeastCases(n) {
  const listed = await apiCall('/v1/complaints?agency_id=kab-padang-pariaman&page.page_size=500',
                               { key: keys.SIMPUL_KEY_PP_OPERATOR });
  assert.equal(listed.status, 200, listed.text);
  for (let i = listed.json.complaints?.length ?? 0; i < n; i++) {
    await fileComplaint({ description: `Kasus uji halaman kotak masuk ${i + 1}.` });
  }
}

test('sign-in: the form opens an HttpOnly session; the inbox lists the agency\'s cases with deadline flags', async () => {
  await atLeastCases(12);
  const { page, problems, context } = await openPage(browser, '/petugas');
  await page.waitForSelector('[data-testid="signin-form"]');
  const key = page.locator('[data-testid="signin-key"]');
  assert.equal(await key.getAttribute('type'), 'password');
  assert.equal(await key.getAttribute('autocomplete'), 'off');
  assert.deepEqual(await axeSerious(page), [], 'axe on the sign-in');

  // A wrong key is refused with the gateway's message and no session.
  await page.fill('[data-testid="signin-key"]', 'k0000000000000000.wrong');
  await page.click('[data-testid="signin-submit"]');
  await page.waitForSelector('.error[role="alert"]');
  assert.equal(await page.locator('[data-testid="who"]').count(), 0);
  assert.equal(await key.inputValue(), '', 'the key field is emptied after a try');

  await page.fill('[data-testid="signin-key"]', keys.SIMPUL_KEY_PP_OPERATOR);
  await page.click('[data-testid="signin-submit"]');
  await page.waitForSelector('[data-testid="inbox-row"]');
  const who = await page.textContent('[data-testid="who"]');
  assert.match(who, /Operator instansi/);
  assert.match(who, /kab-padang-pariaman/);

  // The cookie exists but the page cannot read it; the key is nowhere in the page.
  const cookies = await context.cookies();
  const cookie = cookies.find((c) => c.name === 'simpul_session');
  assert.ok(cookie, 'a simpul_session cookie was set');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  const visible = await page.evaluate(() => ({
    cookie: document.cookie,
    storage: JSON.stringify({ ...window.localStorage }) + JSON.stringify({ ...window.sessionStorage }),
    html: document.documentElement.outerHTML,
  }));
  assert.doesNotMatch(visible.cookie, /simpul_session/);
  for (const where of [visible.storage, visible.html]) {
    assert.ok(!where.includes(keys.SIMPUL_KEY_PP_OPERATOR), 'the API key is not kept by the page');
    assert.ok(!where.includes(keys.SIMPUL_KEY_PP_OPERATOR.split('.')[1]), 'nor its secret part');
  }

  // The inbox: this agency's cases only, each with a flag computed from deadlines.next.
  const listed = await apiCall('/v1/complaints?agency_id=kab-padang-pariaman&page.page_size=500',
                               { key: keys.SIMPUL_KEY_PP_OPERATOR });
  const expected = new Set(listed.json.complaints.map((c) => c.id));
  const rows = await page.$$eval('[data-testid="inbox-row"]', (trs) => trs.map((tr) => ({
    id: tr.dataset.id, state: tr.dataset.state, flag: tr.dataset.flag, next: tr.dataset.next })));
  assert.ok(rows.length >= 4, `the demo agency has cases (${rows.length})`);
  for (const r of rows) assert.ok(expected.has(r.id), `${r.id} is a case of the agency`);
  // Each flag follows the deadline the API returned (deadlines.next: the earliest that applies
  // in the case's state): overdue when passed, due soon within two days, else on time.
  const now = Date.now();
  let same = 0;
  for (const r of rows) {
    const c = listed.json.complaints.find((x) => x.id === r.id);
    if ((c.deadlines?.next ?? '') === r.next) same += 1;
    const next = r.next ? Date.parse(r.next) : NaN;
    const want = next < now || (c.overdue && (c.deadlines?.next ?? '') === r.next) ? 'overdue'
      : Number.isNaN(next) ? '' : next - now <= 2 * 86400e3 ? 'dueSoon' : 'onTime';
    assert.equal(r.flag, want, `flag of ${r.id} (next ${r.next})`);
  }
  assert.ok(same >= rows.length - 2, 'the page shows the deadlines the API returns');
  assert.ok(rows.some((r) => r.flag), 'some case has a deadline flag');
  assert.ok(await page.locator('[data-testid^="flag-"]').count() > 0);

  // Sorting by the next deadline puts the earliest first.
  await page.click('[data-testid="sort-next"]');  // already ascending: this turns it to descending
  await page.click('[data-testid="sort-next"]');
  // (the order is checked on the deadlines the page shows: the live feed may have reloaded it)
  const times = (await page.$$eval('[data-testid="inbox-row"]', (trs) => trs.map((tr) => tr.dataset.next)))
    .filter(Boolean).map((v) => Date.parse(v));
  assert.ok(times.length > 1);
  assert.deepEqual(times, [...times].sort((a, b) => a - b), 'ascending by next deadline');

  // Paging: ten per page, then the next page appended, every case once.
  await page.selectOption('[data-testid="page-size"]', '10');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="inbox-row"]').length === 10);
  await page.click('[data-testid="load-more"]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="inbox-row"]').length > 10);
  const paged = await page.$$eval('[data-testid="inbox-row"]', (trs) => trs.map((tr) => tr.dataset.id));
  assert.equal(new Set(paged).size, paged.length, 'no case twice');
  assert.ok(paged.length <= 20);
  for (const id of paged) assert.ok(expected.has(id), `${id} is among the agency's oldest cases`);

  // Filtering by state asks the API for that state.
  await page.selectOption('[data-testid="state-filter"]', 'STATE_RECEIVED');
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="inbox-row"]')]
    .every((tr) => tr.dataset.state === 'STATE_RECEIVED'));
  assert.deepEqual(await axeSerious(page), [], 'axe on the inbox');
  expectNoProblems(problems);
  await context.close();
});

test('a complaint filed by the public appears live in the inbox, is verified there, and tracking shows it verified', async () => {
  const { page, problems, context } = await signIn(keys.SIMPUL_KEY_PP_OPERATOR);
  await page.waitForSelector('[data-testid="inbox-table"]');
  await page.waitForFunction(() => /./.test(document.querySelector('[data-testid="live-status"]')?.textContent ?? ''));
  const filed = await fileComplaint();
  // Live: the feed's event reloads the list without any click.
  await page.waitForSelector(`[data-testid="inbox-row"][data-id="${filed.code}"]`, { timeout: 15000 });
  assert.equal(await page.getAttribute(`[data-testid="inbox-row"][data-id="${filed.code}"]`, 'data-state'),
               'STATE_RECEIVED');
  await page.click(`[data-testid="inbox-row"][data-id="${filed.code}"] a`);
  await page.waitForSelector('[data-testid="case-state"]');
  assert.equal(await page.getAttribute('[data-testid="case-state"]', 'data-state'), 'STATE_RECEIVED');
  // Only the actions of RECEIVED for the handling agency.
  const actions = await page.$$eval('[data-testid="actions"] button', (bs) => bs.map((b) => b.dataset.testid));
  assert.deepEqual(actions.sort(), ['action-archive', 'action-forward', 'action-hold', 'action-verify']);
  assert.ok(await page.locator('[data-testid="timeline-entry"][data-action="FileComplaint"]').count() === 1);
  assert.deepEqual(await axeSerious(page), [], 'axe on the case');

  await page.click('[data-testid="action-verify"]');
  await page.waitForSelector('[data-testid="action-form-verify"]');
  await page.fill('[data-testid="field-note"]', 'Diverifikasi lewat konsol (uji).');
  await page.click('[data-testid="action-submit-verify"]');
  await page.waitForSelector('[data-testid="case-state"][data-state="STATE_VERIFIED"]');
  await page.waitForSelector('[data-testid="timeline-entry"][data-action="VerifyComplaint"]');
  assert.match(await page.textContent('[data-testid="action-done"]'), /Verifikasi/);
  // The next actions are those of VERIFIED.
  const after = await page.$$eval('[data-testid="actions"] button', (bs) => bs.map((b) => b.dataset.testid));
  assert.deepEqual(after.sort(), ['action-archive', 'action-dispose', 'action-forward']);

  const tracked = await apiCall(`/v1/complaints/${filed.code}:track`, {
    method: 'POST', body: { secret: filed.secret } });
  assert.equal(tracked.status, 200, tracked.text);
  assert.equal(tracked.json.complaint.state, 'STATE_VERIFIED');
  expectNoProblems(problems);
  await context.close();
});

test('a case worked through its forms: forward choices, dispose, start work, follow-up, complete (in English)', async () => {
  const filed = await fileComplaint();
  const verified = await apiCall(`/v1/complaints/${filed.code}:verify`, {
    method: 'POST', key: keys.SIMPUL_KEY_PP_OPERATOR, body: {} });
  assert.equal(verified.status, 200, verified.text);
  const { page, problems, context } = await signIn(keys.SIMPUL_KEY_PP_OPERATOR, `/petugas/kasus/${filed.code}`);
  await page.click('[data-testid="lang-switch"]');
  await page.waitForSelector('[data-testid="case-state"][data-state="STATE_VERIFIED"]');
  assert.match(await page.textContent('[data-testid="case-state"]'), /^Verified$/);

  // Forward: the agencies come from /v1/agencies (not this one), the units follow the choice.
  await page.click('[data-testid="action-forward"]');
  await page.waitForSelector('[data-testid="field-to_agency_id"] option[value="kota-bogor"]', { state: 'attached' });
  assert.equal(await page.locator('[data-testid="field-to_agency_id"] option[value="kab-padang-pariaman"]').count(), 0);
  await page.selectOption('[data-testid="field-to_agency_id"]', 'kota-bogor');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="field-to_unit_id"] option').length > 1);
  await page.click('[data-testid="action-forward"]');  // closes the form, nothing sent

  const step = async (action, fill, state) => {
    await page.click(`[data-testid="action-${action}"]`);
    await page.waitForSelector(`[data-testid="action-form-${action}"]`);
    if (fill) await fill();
    await page.click(`[data-testid="action-submit-${action}"]`);
    await page.waitForSelector(`[data-testid="case-state"][data-state="${state}"]`);
  };
  await step('dispose', async () => {
    await page.waitForSelector('[data-testid="field-unit_id"] option[value="disdukcapil-padang-pariaman"]', { state: 'attached' });
    await page.selectOption('[data-testid="field-unit_id"]', 'disdukcapil-padang-pariaman');
    await page.fill('[data-testid="field-note"]', 'To the registration desk.');
  }, 'STATE_DISPOSED');
  await step('startWork', null, 'STATE_IN_PROGRESS');
  await step('followUp', () => page.fill('[data-testid="field-message"]', 'The queue system was repaired today.'),
             'STATE_RESPONDED');
  await step('complete', null, 'STATE_COMPLETED');
  assert.equal(await page.locator('[data-testid="no-actions"]').count(), 1);
  const history = await apiCall(`/v1/complaints/${filed.code}/history`, { key: keys.SIMPUL_KEY_PP_OPERATOR });
  assert.deepEqual(history.json.entries.map((e) => e.action),
                   ['FileComplaint', 'VerifyComplaint', 'DisposeComplaint', 'StartWork', 'PostFollowUp',
                    'CompleteComplaint']);
  assert.equal(history.json.entries[4].message, 'The queue system was repaired today.');
  assert.equal(history.json.entries[2].to_unit_id, 'disdukcapil-padang-pariaman');
  assert.equal(await page.locator('[data-testid="timeline-entry"]').count(), 6);
  expectNoProblems(problems);
  await context.close();
});

test('a change without the CSRF token is refused 403; a stale view and a missing field show the server\'s errors', async () => {
  const filed = await fileComplaint();
  const { page, problems, context } = await signIn(keys.SIMPUL_KEY_PP_OPERATOR, `/petugas/kasus/${filed.code}`);
  await page.waitForSelector('[data-testid="case-state"]');
  // A reload restores the session from the cookie (GET /web/session): no second sign-in.
  await page.reload();
  await page.waitForSelector('[data-testid="who"]');
  await page.waitForSelector('[data-testid="case-state"]');

  const refused = await page.evaluate(async (code) => {
    const r = await fetch(`/v1/complaints/${code}:hold`, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ message: 'tanpa token CSRF' }),
    });
    return { status: r.status, body: await r.text() };
  }, filed.code);
  assert.equal(refused.status, 403, refused.body);
  assert.match(refused.body, /X-CSRF-Token/);
  const unchanged = await apiCall(`/v1/complaints/${filed.code}`, { key: keys.SIMPUL_KEY_PP_OPERATOR });
  assert.equal(unchanged.json.complaint.state, 'STATE_RECEIVED');
  assert.equal(unchanged.json.complaint.revision, '1');

  // A missing required field: the server's field violation is shown at the field.
  await page.click('[data-testid="action-hold"]');
  await page.click('[data-testid="action-submit-hold"]');
  await page.waitForSelector('[data-testid="action-form-hold"] .error[role="alert"]');
  assert.equal(await page.getAttribute('[data-testid="field-message"]', 'aria-invalid'), 'true');

  // A stale view: the case moves on elsewhere, the form's expected_revision is refused.
  const moved = await apiCall(`/v1/complaints/${filed.code}:verify`, {
    method: 'POST', key: keys.SIMPUL_KEY_PP_OPERATOR, body: { note: 'di tempat lain' } });
  assert.equal(moved.status, 200, moved.text);
  await page.fill('[data-testid="field-message"]', 'Mohon lampirkan foto antrean.');
  await page.click('[data-testid="action-submit-hold"]');
  await page.waitForFunction(() => /revision|revisi/i.test(
    document.querySelector('[data-testid="action-form-hold"] .error')?.textContent ?? ''));
  expectNoProblems(problems);
  await context.close();
});

test('sign-out ends the session: a reload shows the sign-in', async () => {
  const { page, problems, context } = await signIn(keys.SIMPUL_KEY_PP_OPERATOR);
  await page.click('[data-testid="signout"]');
  await page.waitForSelector('[data-testid="signin-form"]');
  const status = await page.evaluate(async () => (await fetch('/web/session')).status);
  assert.equal(status, 401);
  await page.reload();
  await page.waitForSelector('[data-testid="signin-form"]');
  assert.equal(await page.locator('[data-testid="who"]').count(), 0);
  // A /v1/ read with the old cookie does not act as the officer any more.
  const list = await page.evaluate(async () => {
    const r = await fetch('/v1/complaints?agency_id=kab-padang-pariaman');
    return { status: r.status, body: await r.text() };
  });
  assert.ok(!list.body.includes('"complaints"'), `no full view after sign-out: ${list.status}`);
  expectNoProblems(problems);
  await context.close();
});

test('a session ended elsewhere: the next call returns to the sign-in with "session ended"', async () => {
  const { page, problems, context } = await signIn(keys.SIMPUL_KEY_PP_OPERATOR);
  await page.waitForSelector('[data-testid="inbox-row"]');
  // End the session behind the console's back (as an expiry or a revoked key would); the
  // browser keeps its cookie, which the gateway no longer knows.
  const cookie = (await context.cookies()).find((c) => c.name === 'simpul_session');
  const ended = await page.evaluate(async () => {
    const s = await (await fetch('/web/session')).json();
    return (await fetch('/web/session', { method: 'DELETE',
                                          headers: { 'X-CSRF-Token': s.csrf_token } })).status;
  });
  assert.equal(ended, 204);
  await context.addCookies([cookie]);
  await page.click('[data-testid="inbox-refresh"]');
  await page.waitForSelector('[data-testid="session-ended"]');
  await page.waitForSelector('[data-testid="signin-form"]');
  expectNoProblems(problems);
  await context.close();
});

test('a SECRET complainant\'s identity never reaches the console of a role that may not see it', async () => {
  const planted = { name: `Saksi Rahasia ${crypto.randomBytes(4).toString('hex')}`,
                    phone: `0812 ${1000 + crypto.randomInt(8999)} ${1000 + crypto.randomInt(8999)}` };
  const filed = await fileComplaint({ confidentiality: 'CONFIDENTIALITY_SECRET', complainant: planted,
                                      description: 'Petugas meminta imbalan di luar ketentuan (uji rahasia).' });
  // The plant is real: the handling agency does see it.
  const handler = await apiCall(`/v1/complaints/${filed.code}`, { key: keys.SIMPUL_KEY_PP_OPERATOR });
  assert.equal(handler.json.complaint.complainant?.name, planted.name);

  // A coordinator (platform admin) may not see a SECRET identity: every response the console
  // gets, through the inbox and the case, is collected and searched.
  const bodies = [];
  const opened = await openPage(browser, '/petugas');
  const { page, problems, context } = opened;
  page.on('response', async (r) => {
    if (!/\/(v1|web)\//.test(new URL(r.url()).pathname)) return;
    try { bodies.push({ url: r.url(), text: await r.text() }); } catch { /* a stream cut short */ }
  });
  await page.waitForSelector('[data-testid="signin-form"]');
  await page.fill('[data-testid="signin-key"]', keys.SIMPUL_KEY_PLATFORM);
  await page.click('[data-testid="signin-submit"]');
  await page.waitForSelector('[data-testid="inbox-row"]');
  assert.match(await page.textContent('[data-testid="who"]'), /Admin platform/);
  await page.goto(`${new URL(page.url()).origin}/petugas/kasus/${filed.code}`);
  await page.waitForSelector('[data-testid="identity-withheld"]');
  assert.equal(await page.getAttribute('[data-testid="case-state"]', 'data-state'), 'STATE_RECEIVED');
  // The coordinator may not verify another agency's case: no such button.
  assert.equal(await page.locator('[data-testid="action-verify"]').count(), 0);
  assert.deepEqual(await axeSerious(page), [], 'axe on the case (identity withheld)');
  await page.waitForTimeout(500);
  const urls = bodies.map((b) => new URL(b.url).pathname);
  assert.ok(urls.includes(`/v1/complaints/${filed.code}`), urls.join(' '));
  assert.ok(urls.includes('/v1/complaints'), urls.join(' '));
  const digits = planted.phone.replace(/\D/g, '');
  for (const b of bodies) {
    assert.ok(!b.text.includes(planted.name), `the name leaked in ${b.url}`);
    assert.ok(!b.text.includes(planted.phone) && !b.text.replace(/[\s+()-]/g, '').includes(digits),
              `the phone leaked in ${b.url}`);
  }
  const shown = await page.evaluate(() => document.body.innerText);
  assert.ok(!shown.includes(planted.name));
  expectNoProblems(problems);
  await context.close();
});
