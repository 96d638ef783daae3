// Signing up with a text-message code (issue 13, decision 0027), through the
// real pages in a real browser: the server sends texts to a small HTTP
// receiver in this file (--sms-url), and the code is read from what it
// received, never from the database. A new and an existing number see the
// same page; only the code from the phone finishes the sign-up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startServer, launch, newPage, checkA11y, assertNoProblems, newPhone } from './helpers.mjs';

const texts = [];
let provider;
const env = {};

before(async () => {
  provider = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      try { texts.push(JSON.parse(body)); } catch { texts.push({ raw: body }); }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise((r) => provider.listen(0, '127.0.0.1', r));
  const { port } = provider.address();
  env.server = await startServer({
    MEDIMEET_SMS_URL: `http://127.0.0.1:${port}/sms`,
    MEDIMEET_SMS_BODY: '{"to":"{to}","text":"{text}","ref":"{id}"}',
  });
  env.chromium = await launch();
});

after(async () => {
  await env.chromium?.close();
  await env.server?.stop();
  await new Promise((r) => provider?.close(r) ?? r());
});

/** Waits for the `n`-th text to `phone`. */
async function textTo(phone, n = 1) {
  for (let i = 0; i < 100; i += 1) {
    const to = texts.filter((t) => t.to === phone);
    if (to.length >= n) return to[n - 1].text;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no text ${n} to ${phone}: ${JSON.stringify(texts)}`);
}

async function fillSignup(page, url, phone) {
  await page.goto(`${url}/signup`);
  await page.getByLabel('First name').fill('Sami');
  await page.getByLabel('Last name').fill('Texter');
  await page.getByLabel('Phone number').fill(phone);
  await page.getByLabel('Date of birth').fill('1993-09-21');
  await page.getByLabel('Password').fill('a long enough password');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Enter the code we sent' }).waitFor();
}

test('a new patient finishes signing up with the code; an existing number sees the same page', async () => {
  const { url } = env.server;
  const phone = newPhone();
  const page = await newPage(env.chromium.browser);

  await fillSignup(page, url, phone);
  assert.ok(await page.getByText(`We sent a text message to ${phone}`).isVisible());
  await checkA11y(page, 'sign-up code');
  const m = (await textTo(phone)).match(/^(\d{6}) is your code/);
  assert.ok(m, 'a code by text');
  const code = m[1];

  // A wrong code: told so on the same page; no account yet.
  const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
  await page.getByLabel('Code', { exact: true }).fill(wrong);
  await page.getByRole('button', { name: 'Finish signing up' }).click();
  await page.locator('#e-code').waitFor();
  assert.match(await page.locator('#e-code').textContent(), /wrong, already used or expired/);
  assert.equal(await page.getByLabel('Phone number').inputValue(), phone, 'the phone is kept');
  await checkA11y(page, 'sign-up code with an error');

  await page.getByLabel('Code', { exact: true }).fill(code);
  await page.getByRole('button', { name: 'Finish signing up' }).click();
  await page.waitForURL(`${url}/doctors`);
  assert.ok(await page.getByText('Your account is ready').isVisible());
  assert.ok(await page.getByText('Sami Texter').isVisible(), 'the header names the patient');
  assertNoProblems(page, 'sign-up by code');

  // Someone else signs up with the same number: the same page, and the
  // owner gets a warning, not a code.
  const other = await newPage(env.chromium.browser);
  await fillSignup(other, url, phone);
  assert.ok(await other.getByText(`We sent a text message to ${phone}`).isVisible());
  const warning = await textTo(phone, 2);
  assert.match(warning, /Someone tried/);
  assert.doesNotMatch(warning, /\d/);
});
