// Issue #17's journey across the front, in one browser with two people: a citizen files a
// complaint through the web form, the demo officer (signed in to the console in a separate
// profile) sees it arrive in the inbox and verifies it there, and the citizen's tracking page
// then shows the new state, in Bahasa Indonesia and, after the switch, in English.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { axeSerious, demoKeys, expectNoProblems, launch, openPage } from './lib/browser.mjs';

const RUN = randomBytes(4).toString('hex');
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a complaint filed through the form is verified in the officer inbox and tracked as verified',
     async () => {
       // The officer signs in first and keeps the inbox open: the case must arrive by itself.
       const officer = await openPage(browser, '/petugas');
       await officer.page.waitForSelector('[data-testid="signin-form"]');
       await officer.page.fill('[data-testid="signin-key"]', demoKeys().SIMPUL_KEY_PP_OPERATOR);
       await officer.page.click('[data-testid="signin-submit"]');
       await officer.page.waitForSelector('[data-testid="inbox-table"]');

       // The citizen files through the form (the demo birth-certificate service and its
       // required questions), as a confidential complainant (the handling agency sees who; the
       // public, other agencies and coordinators do not: tests/web/officer.test.mjs).
       const citizen = await openPage(browser, '/pengaduan/baru');
       const form = citizen.page;
       await form.fill('[data-testid=service-search]', 'akta kelahiran');
       await form.click('[data-testid=service-search-button]');
       await form.click('[data-testid=service-result][data-service="akta-kelahiran-padang-pariaman"]');
       await form.waitForSelector('[data-testid=questions]');
       await form.fill('[data-testid=question-application_number]', `1305-AK-2026-J${RUN}`);
       await form.getByLabel('Loket Disdukcapil').check();
       await form.fill('[data-testid=description]',
                       `Akta kelahiran anak kami belum terbit setelah 20 hari kerja (uji ${RUN}).`);
       await form.check('[data-testid=confidentiality-SECRET]');
       await form.fill('[data-testid=contact-name]', `Warga Uji ${RUN}`);
       await form.click('[data-testid=submit]');
       await form.waitForSelector('[data-testid=result]');
       const code = (await form.locator('[data-testid=tracking-code]').innerText()).trim();
       const secret = (await form.locator('[data-testid=secret]').innerText()).trim();
       assert.match(code, /^[A-Z0-9]{5}-[A-Z0-9]{5}$/);
       assert.ok(secret.length >= 16);

       // It arrives in the officer's inbox without a click, is opened and verified there.
       const inbox = officer.page;
       const row = `[data-testid="inbox-row"][data-id="${code}"]`;
       await inbox.waitForSelector(row, { timeout: 15000 });
       assert.equal(await inbox.getAttribute(row, 'data-state'), 'STATE_RECEIVED');
       await inbox.click(`${row} a`);
       await inbox.waitForSelector('[data-testid="case-state"][data-state="STATE_RECEIVED"]');
       await inbox.click('[data-testid="action-verify"]');
       await inbox.waitForSelector('[data-testid="action-form-verify"]');
       await inbox.fill('[data-testid="field-note"]', `Berkas lengkap (uji ${RUN}).`);
       await inbox.click('[data-testid="action-submit-verify"]');
       await inbox.waitForSelector('[data-testid="case-state"][data-state="STATE_VERIFIED"]');

       // The citizen's tracking page shows the new state, then in English after the switch.
       await form.goto(`${process.env.SIMPUL_WEB_URL}/lacak?code=${code}`);
       await form.waitForSelector('[data-testid=track-secret]');
       assert.equal(await form.inputValue('[data-testid=track-code]'), code);
       await form.fill('[data-testid=track-secret]', secret);
       await form.click('[data-testid=track-submit]');
       await form.waitForSelector('[data-testid=state][data-state="STATE_VERIFIED"]');
       assert.match(await form.locator('[data-testid=state-note]').innerText(), /Terverifikasi/);
       await form.click('[data-testid=lang-switch]');
       await form.waitForFunction(() => /Verified/.test(
         document.querySelector('[data-testid=state-note]')?.textContent ?? ''));
       assert.deepEqual(await axeSerious(form), []);

       expectNoProblems(officer.problems);
       expectNoProblems(citizen.problems);
       await officer.context.close();
       await citizen.context.close();
     });
