// Browser tests of the public complaint pages (issue #17, point 2): the public list
// (/pengaduan), the complaint form (/pengaduan/baru) and tracking (/lacak), against the demo
// system (tests/web/run sets SIMPUL_WEB_URL and SIMPUL_DEMO_KEYS).
//
// One case is filed through the form and followed through the whole test: its field error, its
// code and secret, its state before and after the officer verifies it (through the API, as
// the demo operator of Padang Pariaman), in Indonesian and English, and a reply the officer
// then reads in the history. The complainant's name is planted and searched for in every
// answer the public pages received.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { apiCall, axeSerious, demoKeys, expectNoProblems, launch, newContext, openPage }
  from './lib/browser.mjs';

const SERVICE = 'akta-kelahiran-padang-pariaman';
const RUN = randomBytes(4).toString('hex');
// Names that must never reach a public page: a SECRET complainant and an ANONYMOUS one.
const SECRET_NAME = `Siti Rahasia ${RUN}`;
const SECRET_PHONE = `0812${parseInt(RUN, 16) % 100000000}`.padEnd(12, '7');
const ANON_NAME = `Budi Anonim ${RUN}`;
const TEXT = `Akta kelahiran anak belum terbit setelah 5 hari kerja (uji ${RUN}).`;

let browser;
let keys;
const filed = {};  // { code, secret } of the case filed through the form
const publicBodies = [];  // every API answer a public page received: { url, body }

before(async () => {
  keys = demoKeys();
  assert.ok(keys.SIMPUL_KEY_PP_OPERATOR, 'the demo keys hold SIMPUL_KEY_PP_OPERATOR');
  browser = await launch();
});
after(async () => { await browser?.close(); });

// open opens a path in a fresh profile and records every API answer of its pages, from the
// first one on (in `answers`, and in publicBodies for the search for names).
async function open(path, options) {
  const context = await newContext(browser);
  const answers = [];
  context.on('response', async (r) => {
    if (!/^\/(v1|open311|web)\//.test(new URL(r.url()).pathname)) return;
    try {
      const entry = { url: r.url(), status: r.status(), body: await r.text() };
      answers.push(entry);
      publicBodies.push(entry);
    } catch { /* the page went away */ }
  });
  const opened = await openPage(context, path, options);
  return { ...opened, answers };
}

// expectOnly fails on every problem but the browser's console line for the one answer of
// `status` the test provoked on purpose (Chromium logs each 4xx answer as a console error).
function expectOnly(problems, status, count = 1) {
  const expected = new RegExp(`status of ${status} `);
  const provoked = problems.filter((p) => expected.test(p));
  assert.ok(provoked.length <= count, `more than ${count} ${status}: ${provoked.join('; ')}`);
  expectNoProblems(problems.filter((p) => !expected.test(p)));
}

async function noSeriousAxe(page) {
  assert.deepEqual(await axeSerious(page), [], 'axe found serious violations');
}

// fillServiceForm searches the demo service, answers its required questions and writes the
// complaint (all but the description when `text` is empty).
async function fillServiceForm(page, text) {
  await page.fill('[data-testid=service-search]', 'akta kelahiran');
  await page.click('[data-testid=service-search-button]');
  await page.click(`[data-testid=service-result][data-service="${SERVICE}"]`);
  await page.waitForSelector('[data-testid=questions]');
  await page.fill('[data-testid=question-application_number]', `1305-AK-2026-${RUN}`);
  await page.getByLabel('Loket Disdukcapil').check();
  if (text) await page.fill('[data-testid=description]', text);
}

test('the public list shows the demo cases and opens one', async () => {
  const { page, problems, answers } = await open('/pengaduan');
  await page.waitForSelector('[data-testid=complaint-row]');
  const shown = await page.locator('[data-testid=complaint-row]').evaluateAll(
    (rows) => rows.map((r) => r.dataset.id));
  // The rows are the public list the API gave the page (public view, as an anonymous caller).
  const list = answers.find((a) => new URL(a.url).pathname === '/v1/complaints');
  assert.ok(list, 'the page read ListComplaints');
  const ids = JSON.parse(list.body).public_complaints.map((c) => c.id);
  assert.ok(ids.length > 0, 'the demo has publicly listed cases');
  assert.deepEqual(shown, ids);
  // And those are the demo's public cases: an anonymous call lists the same first case.
  const direct = await apiCall('/v1/complaints?page.page_size=1');
  assert.equal(direct.json.public_complaints[0].id, ids[0]);
  // A row's state is in words, not the enum name.
  const state = await page.locator('[data-testid=complaint-row] [data-testid=state]').first()
    .innerText();
  assert.doesNotMatch(state, /STATE_/);

  // A case opens in place with its public view.
  await page.locator('[data-testid=complaint-row] button').first().click();
  await page.waitForSelector('[data-testid=detail] [data-testid=deadlines], [data-testid=detail] .cp-deadlines');
  // A filter by state asks the API and shows only that state.
  await page.selectOption('[data-testid=filter-state]', 'STATE_COMPLETED');
  await page.click('[data-testid=apply-filters]');
  await page.waitForURL(/state=STATE_COMPLETED/);
  await page.waitForSelector('[data-testid=count]');
  const states = await page.locator('[data-testid=complaint-row] [data-testid=state]')
    .evaluateAll((els) => els.map((e) => e.dataset.state));
  assert.ok(states.every((s) => s === 'STATE_COMPLETED'), `only completed cases: ${states}`);
  await noSeriousAxe(page);
  expectNoProblems(problems);
});

test('the form shows the API field error by the field and files nothing', async () => {
  const { page, problems } = await open(`/pengaduan/baru`);
  const posts = [];
  page.on('response', async (r) => {
    if (r.request().method() === 'POST' && new URL(r.url()).pathname === '/v1/complaints') {
      posts.push({ status: r.status(), json: await r.json().catch(() => null) });
    }
  });
  await fillServiceForm(page, '');
  await page.click('[data-testid=submit]');
  const error = page.locator('[data-testid="error-description"]');
  await error.waitFor();
  assert.match(await error.innerText(), /wajib/i, 'the API\'s message in Indonesian');
  const field = page.locator('[data-testid=description]');
  assert.equal(await field.getAttribute('aria-invalid'), 'true');
  assert.match(await field.getAttribute('aria-describedby'), /f-description-error/);
  assert.equal(await page.locator('[data-testid=result]').count(), 0);
  assert.equal(posts.length, 1);
  assert.equal(posts[0].status, 400);
  assert.equal(posts[0].json?.tracking_code, undefined, 'nothing was filed');
  assert.ok(posts[0].json.field_violations.some((v) => v.field === 'description'));
  await noSeriousAxe(page);
  expectOnly(problems, 400);
});

test('a required question left unanswered is named by the question', async () => {
  const { page, problems } = await open(`/pengaduan/baru?service=${SERVICE}`);
  const statuses = [];
  page.on('response', (r) => {
    if (r.request().method() === 'POST' && new URL(r.url()).pathname === '/v1/complaints') {
      statuses.push(r.status());
    }
  });
  await page.waitForSelector('[data-testid=questions]');
  await page.getByLabel('Aplikasi daring').check();
  await page.fill('[data-testid=description]', `Tanpa nomor permohonan (uji ${RUN}).`);
  await page.click('[data-testid=submit]');
  const error = page.locator('[data-testid="error-attributes[application_number]"]');
  await error.waitFor();
  assert.match(await error.innerText(), /wajib diisi/);
  const question = page.locator('[data-testid=question-application_number]');
  assert.equal(await question.getAttribute('aria-invalid'), 'true');
  // The summary links to the question.
  const link = page.locator('[data-testid=form-error] a');
  assert.equal(await link.getAttribute('href'), `#${await question.getAttribute('id')}`);
  assert.deepEqual(statuses, [400]);
  assert.equal(await page.locator('[data-testid=result]').count(), 0);
  expectOnly(problems, 400);
});

test('a complaint filed through the form shows its code and secret once', async () => {
  const { page, problems } = await open(`/pengaduan/baru`);
  const posts = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/v1/complaints') {
      posts.push(r.postDataJSON());
    }
  });
  const answers = [];
  page.on('response', async (r) => {
    if (r.request().method() === 'POST' && new URL(r.url()).pathname === '/v1/complaints') {
      answers.push(await r.json().catch(() => null));
    }
  });
  await fillServiceForm(page, TEXT);
  await page.check('[data-testid=confidentiality-SECRET]');
  await page.fill('[data-testid=contact-name]', SECRET_NAME);
  await page.fill('[data-testid=contact-phone]', SECRET_PHONE);
  await page.dblclick('[data-testid=submit]');  // a double click files once
  await page.waitForSelector('[data-testid=result]');
  filed.code = (await page.locator('[data-testid=tracking-code]').innerText()).trim();
  filed.secret = (await page.locator('[data-testid=secret]').innerText()).trim();
  assert.match(filed.code, /^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
  assert.match(filed.secret, /\S{8,}/);
  assert.ok(posts.length >= 1);
  const body = posts[0];
  assert.equal(body.channel, 'CHANNEL_WEB');
  assert.equal(body.confidentiality, 'CONFIDENTIALITY_SECRET');
  assert.equal(body.service_id, SERVICE);
  assert.ok(body.idempotency_key.length >= 32, 'a key long enough to get the secret again');
  assert.ok(posts.every((p) => p.idempotency_key === body.idempotency_key));
  assert.ok(answers.every((a) => a?.tracking_code === filed.code), 'every answer is one case');
  // The focus is on the result, which says the secret cannot be recovered.
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1');
  assert.match(await page.locator('[data-testid=result]').innerText(), /tidak dapat dipulihkan/);
  // The download link holds both codes.
  const href = await page.locator('[data-testid=download]').getAttribute('href');
  assert.match(href, /^blob:/);
  const [download] = await Promise.all([page.waitForEvent('download'),
                                        page.click('[data-testid=download]')]);
  assert.equal(download.suggestedFilename(), `simpul-${filed.code}.txt`);
  const file = fs.readFileSync(await download.path(), 'utf8');
  assert.ok(file.includes(filed.code) && file.includes(filed.secret), file);
  // The officer sees the case with its answers.
  const seen = await apiCall(`/v1/complaints/${filed.code}`, { key: keys.SIMPUL_KEY_PP_OPERATOR });
  assert.equal(seen.status, 200);
  assert.equal(seen.json.complaint.description, TEXT);
  assert.deepEqual(seen.json.complaint.attributes.map((a) => a.code).sort(),
                   ['application_number', 'submitted_via']);
  await noSeriousAxe(page);
  expectNoProblems(problems);
});

async function track(page) {
  await page.fill('[data-testid=track-secret]', filed.secret);
  await page.click('[data-testid=track-submit]');
  await page.waitForSelector('[data-testid=case]');
}

test('the tracking page follows the case through verification, in both languages', async () => {
  assert.ok(filed.code, 'the filing test ran first');
  const { page, problems } = await open(`/lacak?code=${filed.code}`);
  assert.equal(await page.inputValue('[data-testid=track-code]'), filed.code);
  await noSeriousAxe(page);
  await track(page);
  assert.equal(await page.locator('[data-testid=state]').getAttribute('data-state'),
               'STATE_RECEIVED');
  assert.equal((await page.locator('[data-testid=state]').innerText()).trim(), 'Diterima');
  assert.ok(!page.url().includes(filed.secret), 'the secret is not in the URL');
  assert.equal(await page.evaluate(() => JSON.stringify(window.localStorage))
    .then((s) => s.includes(filed.secret)), false, 'nor in localStorage');
  await noSeriousAxe(page);

  const verified = await apiCall(`/v1/complaints/${filed.code}:verify`, {
    method: 'POST', key: keys.SIMPUL_KEY_PP_OPERATOR, body: { note: `uji ${RUN}` } });
  assert.equal(verified.status, 200, verified.text);

  await page.click('text=Lacak pengaduan lain');
  await page.fill('[data-testid=track-code]', filed.code);
  await track(page);
  const state = page.locator('[data-testid=state]');
  assert.equal(await state.getAttribute('data-state'), 'STATE_VERIFIED');
  assert.equal((await state.innerText()).trim(), 'Terverifikasi');
  assert.match(await page.locator('[data-testid=state-note]').innerText(), /Terverifikasi;/);
  assert.match(await page.locator('[data-testid=history]').innerText(), /Diverifikasi/);

  await page.click('[data-testid=lang-switch]');
  await page.waitForFunction(() => document.querySelector('[data-testid=state]')
    ?.textContent.trim() === 'Verified');
  assert.match(await page.locator('[data-testid=state-note]').innerText(),
               /Verified; being routed/);
  assert.match(await page.locator('[data-testid=history]').innerText(), /Complaint filed/);

  // A reply from the tracking page reaches the officer.
  const reply = `Nomor antrean saya A-17 (uji ${RUN}).`;
  await page.fill('[data-testid=reply-message]', reply);
  await page.click('[data-testid=reply-send]');
  await page.waitForFunction(() => document.querySelector('[data-testid=notice]')
    ?.textContent.includes('reply was sent'));
  assert.match(await page.locator('[data-testid=history]').innerText(), new RegExp(RUN));
  const history = await apiCall(`/v1/complaints/${filed.code}/history`,
                                { key: keys.SIMPUL_KEY_PP_OPERATOR });
  assert.equal(history.status, 200);
  assert.ok(history.json.entries.some((e) => e.action === 'ReplyToComplaint' &&
                                            e.message === reply), history.text);
  await noSeriousAxe(page);
  expectNoProblems(problems);
});

test('a completed case is rated and reopened from the tracking page', async () => {
  assert.ok(filed.code, 'the filing test ran first');
  // The complainant uploaded a photo (through the API); the page lists it and downloads it.
  const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
  const up = await apiCall(`/v1/complaints/${filed.code}/attachments`, { method: 'POST',
    body: { secret: filed.secret, content: png, description: `Tanda terima ${RUN}` } });
  assert.equal(up.status, 200, up.text);
  const pp = keys.SIMPUL_KEY_PP_OPERATOR;
  for (const [step, body] of [[':dispose', {}], [':startWork', {}],
                              ['/followUps', { message: `Akta sudah terbit (uji ${RUN}).` }],
                              [':complete', {}]]) {
    const r = await apiCall(`/v1/complaints/${filed.code}${step}`, { method: 'POST', key: pp,
                                                                     body });
    assert.equal(r.status, 200, `${step}: ${r.text}`);
  }
  const { page, problems } = await open(`/lacak?code=${filed.code}`);
  await track(page);
  assert.equal(await page.locator('[data-testid=state]').getAttribute('data-state'),
               'STATE_COMPLETED');
  const attachment = page.locator('[data-testid=attachment]');
  assert.equal(await attachment.innerText(), `Tanda terima ${RUN}`);
  const [download] = await Promise.all([page.waitForEvent('download'), attachment.click()]);
  assert.equal(fs.readFileSync(await download.path()).toString('base64'), png);
  assert.match(await page.locator('[data-testid=history]').innerText(), /Akta sudah terbit/);
  assert.equal(await page.locator('[data-testid=reply-form]').count(), 0,
               'a completed case takes no reply');
  await noSeriousAxe(page);

  await page.check('#tr-rate-4');
  await page.fill('#f-comment', `Cukup cepat (uji ${RUN}).`);
  await page.click('[data-testid=rate-form] button[type=submit]');
  await page.waitForFunction(() => document.querySelector('[data-testid=notice]')
    ?.textContent.includes('Penilaian terkirim'));
  assert.equal(await page.locator('[data-testid=rate-form]').count(), 0, 'rated once');
  assert.match(await page.locator('[data-testid=case]').innerText(), /4 dari 5/);

  await page.fill('#f-reason', `Nama ibu salah eja di akta (uji ${RUN}).`);
  await page.click('[data-testid=reopen-form] button[type=submit]');
  await page.waitForFunction(() => document.querySelector('[data-testid=state]')
    ?.dataset.state === 'STATE_IN_PROGRESS');
  assert.match(await page.locator('[data-testid=notice]').innerText(), /dibuka kembali/);
  const seen = await apiCall(`/v1/complaints/${filed.code}`, { key: pp });
  assert.equal(seen.json.complaint.state, 'STATE_IN_PROGRESS');
  assert.equal(seen.json.complaint.reopen_count, 1);
  expectNoProblems(problems);
});

test('a wrong secret shows the API error and no case', async () => {
  assert.ok(filed.code);
  const { page, problems } = await open(`/lacak?code=${filed.code}`);
  await page.fill('[data-testid=track-secret]', 'AAAA-BBBB-CCCC-DDDD');
  await page.click('[data-testid=track-submit]');
  await page.waitForSelector('.tr-form [role=alert]');
  assert.equal(await page.locator('[data-testid=case]').count(), 0);
  expectOnly(problems, 404);
});

test('an anonymous complainant\'s name is never sent, and no public page receives a name', async () => {
  const { page, problems } = await open(`/pengaduan/baru?service=${SERVICE}`);
  const posts = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/v1/complaints') {
      posts.push(r.postData());
    }
  });
  await page.waitForSelector('[data-testid=chosen-service]');
  await page.fill('[data-testid=question-application_number]', `1305-AK-2026-A${RUN}`);
  await page.getByLabel('Mal Pelayanan Publik').check();
  await page.fill('[data-testid=description]', `Antrean akta tidak bergerak (uji anonim ${RUN}).`);
  await page.fill('[data-testid=contact-name]', ANON_NAME);  // typed, then anonymity chosen
  await page.check('[data-testid=confidentiality-ANONYMOUS]');
  await page.waitForSelector('[data-testid=anonymous-contact]');
  await page.click('[data-testid=submit]');
  await page.waitForSelector('[data-testid=result]');
  const code = (await page.locator('[data-testid=tracking-code]').innerText()).trim();
  assert.equal(posts.length, 1);
  assert.ok(!posts[0].includes(ANON_NAME), 'the anonymous name is not sent');
  assert.equal(JSON.parse(posts[0]).confidentiality, 'CONFIDENTIALITY_ANONYMOUS');
  expectNoProblems(problems);

  // Verified, the anonymous case is publicly listed; the list and its detail show no name.
  const verified = await apiCall(`/v1/complaints/${code}:verify`, {
    method: 'POST', key: keys.SIMPUL_KEY_PP_OPERATOR, body: {} });
  assert.equal(verified.status, 200, verified.text);
  const list = await open(`/pengaduan?service=${SERVICE}&agency=kab-padang-pariaman`);
  await list.page.waitForSelector('[data-testid=complaint-row]');
  let row = list.page.locator(`[data-testid=complaint-row][data-id="${code}"]`);
  for (let i = 0; i < 10 && await row.count() === 0; i++) {
    const next = list.page.locator('[data-testid=next-page]');
    if (await next.isDisabled()) break;
    await next.click();
    await list.page.waitForSelector('[data-testid=count]');
    row = list.page.locator(`[data-testid=complaint-row][data-id="${code}"]`);
  }
  assert.equal(await row.count(), 1, 'the verified anonymous case is in the public list');
  await row.locator('button').click();
  await list.page.waitForSelector('[data-testid=detail] dl');
  assert.match(await list.page.locator('[data-testid=detail]').innerText(), /Anonim/);
  // The SECRET case is not in the public list and its public read says nothing of it.
  const secretRead = await apiCall(`/v1/complaints/${filed.code}`);
  assert.ok(!secretRead.text.includes(SECRET_NAME));
  await noSeriousAxe(list.page);
  expectNoProblems(list.problems);

  // Every answer any public page of this file received.
  assert.ok(publicBodies.length > 10, `answers recorded: ${publicBodies.length}`);
  assert.ok(publicBodies.some((b) => b.body.includes(filed.secret)),
            'the recorder saw the filing\'s answer (its secret)');
  for (const { url, body } of publicBodies) {
    for (const secret of [SECRET_NAME, SECRET_PHONE, ANON_NAME]) {
      assert.ok(!body.includes(secret), `${url} returned "${secret}"`);
    }
  }
});
