// Screenshots of the main pages for the README (docs/screenshots/*.png), taken only when
// SIMPUL_WEB_SHOTS names a folder:
//   SIMPUL_WEB_SHOTS=$PWD/docs/screenshots tests/web/run -- tests/web/screenshots.test.mjs
// Each page must also load without problems, so a screenshot never shows a broken page.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { demoKeys, expectNoProblems, launch, newContext, openPage } from './lib/browser.mjs';

const DIR = process.env.SIMPUL_WEB_SHOTS;
const SHOTS = [
  // [file, path, what to wait for before the picture]
  ['standards', '/?q=akta', '[data-testid=standard-result]'],
  ['standard', '/standar/akta-kelahiran-padang-pariaman', 'main h2'],
  ['dashboard', '/kinerja?scope=region&id=13&period=2026', 'canvas'],
  ['complaints', '/pengaduan', 'main h1'],
  ['complaint-form', '/pengaduan/baru', 'form'],
  ['tracking', '/lacak', 'form'],
  ['api-reference', '/api', 'main h1'],
];

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

for (const [name, urlPath, ready] of SHOTS) {
  test(`screenshot: ${name}`, { skip: !DIR && 'SIMPUL_WEB_SHOTS is not set' }, async () => {
    fs.mkdirSync(DIR, { recursive: true });
    const { page, problems, context } = await openPage(browser, urlPath);
    await page.waitForSelector(ready);
    await page.waitForTimeout(1000);  // charts and fonts settle
    await page.screenshot({ path: path.join(DIR, `${name}.png`) });
    expectNoProblems(problems);
    await context.close();
  });
}

test('screenshot: the officer inbox, signed in as the demo officer',
     { skip: !DIR && 'SIMPUL_WEB_SHOTS is not set' }, async () => {
       fs.mkdirSync(DIR, { recursive: true });
       const context = await newContext(browser);
       const base = process.env.SIMPUL_WEB_URL;
       const signIn = await context.request.post(`${base}/web/session`, {
         data: { api_key: demoKeys().SIMPUL_KEY_PP_OPERATOR } });
       assert.equal(signIn.status(), 201, await signIn.text());
       const { page, problems } = await openPage(context, '/petugas');
       await page.waitForTimeout(1500);
       await page.screenshot({ path: path.join(DIR, 'officer-inbox.png') });
       expectNoProblems(problems);
       await context.close();
     });
