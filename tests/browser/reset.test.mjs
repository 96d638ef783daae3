// A forgotten password and a profile edit (issue 12, decision 0018), through
// the real pages in a real browser: the codes are read from what the
// server's SMS provider received (a small HTTP receiver in this file, the
// server pointed at it with --sms-url), never from the database.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startServer, launch, newPage, nav, login, checkA11y, assertNoProblems, newPhone } from './helpers.mjs';

/** The SMS provider: records every message posted to it. */
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

/** Waits for the `n`-th text to `phone`; the code it starts with. */
async function codeTo(phone, n = 1) {
  for (let i = 0; i < 100; i += 1) {
    const to = texts.filter((t) => t.to === phone);
    if (to.length >= n) {
      const m = to[n - 1].text.match(/^(\d{6}) is your code/);
      assert.ok(m, `a code in: ${to[n - 1].text}`);
      return m[1];
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no text ${n} to ${phone}: ${JSON.stringify(texts)}`);
}

/** Signs a patient up: this clinic sends texts, so by the code sent to the
 *  phone (decision 0027); that code is the phone's first text. */
async function register(url, phone, password) {
  const r = await fetch(`${url}/api/v1/patients`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ first_name: 'Rosa', last_name: 'Forgetful', phone,
      password, date_of_birth: '1975-06-15' }),
  });
  assert.equal(r.status, 202);
  const c = await fetch(`${url}/api/v1/signup/confirm`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phone, code: await codeTo(phone, 1) }),
  });
  assert.equal(c.status, 201);
}

test('a patient who forgot their password sets a new one with the code sent by SMS', async () => {
  const { url } = env.server;
  const phone = newPhone();
  await register(url, phone, 'the old password');
  const page = await newPage(env.chromium.browser);

  await page.goto(`${url}/login`);
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await page.waitForURL((u) => u.pathname === '/password-reset');
  assert.ok(await page.getByRole('heading', { name: 'Forgot your password?' }).isVisible());
  await checkA11y(page, 'reset request');

  // Nothing typed: told so, on the same page.
  await page.getByRole('button', { name: 'Send me a code' }).click();
  await page.locator('#e-login').waitFor();
  assert.equal(await page.getByLabel('Phone number or email').getAttribute('aria-invalid'), 'true');

  await page.getByLabel('Phone number or email').fill(phone);
  await page.getByRole('button', { name: 'Send me a code' }).click();
  await page.getByRole('heading', { name: 'Set a new password' }).waitFor();
  assert.ok(await page.getByText(`If an account has ${phone}`).isVisible());
  await checkA11y(page, 'reset confirm');
  const code = await codeTo(phone, 2);

  // A wrong code: the form again, and the password unchanged.
  const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
  await page.getByLabel('Code', { exact: true }).fill(wrong);
  await page.getByLabel('New password', { exact: true }).fill('my brand new password');
  await page.getByLabel('New password again').fill('my brand new password');
  await page.getByRole('button', { name: 'Set the new password' }).click();
  await page.locator('#e-code').waitFor();
  assert.match(await page.locator('#e-code').textContent(), /wrong, already used or expired/);
  await checkA11y(page, 'reset confirm with an error');

  await page.getByLabel('Code', { exact: true }).fill(code);
  await page.getByLabel('New password', { exact: true }).fill('my brand new password');
  await page.getByLabel('New password again').fill('my brand new password');
  await page.getByRole('button', { name: 'Set the new password' }).click();
  await page.waitForURL((u) => u.pathname === '/login');
  await page.getByText('Your new password is set').waitFor();

  // The old password no longer opens the account; the new one does.
  await page.getByLabel('Phone number or email').fill(phone);
  await page.getByLabel('Password').fill('the old password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('.error-summary').waitFor();
  await login(page, url, phone, 'my brand new password');
  assert.equal(new URL(page.url()).pathname, '/appointments');
  assertNoProblems(page, 'password reset');
});

test('a patient edits their details and changes their phone with a code sent to the new one', async () => {
  const { url } = env.server;
  const phone = newPhone();
  await register(url, phone, 'a long enough password');
  const page = await newPage(env.chromium.browser);
  await login(page, url, phone, 'a long enough password');
  await nav(page, 'Profile');
  await checkA11y(page, 'profile with the edit forms');

  // A bad email and a birth date in the future: both told, nothing saved.
  await page.getByLabel('First name').fill('Rosalind');
  await page.locator('#f-email').fill('not an email');
  await page.getByLabel('Date of birth').fill('2999-01-01');
  await page.getByRole('button', { name: 'Save details' }).click();
  await page.locator('.error-summary').waitFor();
  assert.ok(await page.locator('#e-email').isVisible());
  assert.ok(await page.locator('#e-date_of_birth').isVisible());
  assert.equal(await page.getByLabel('First name').inputValue(), 'Rosalind', 'what was typed stays');
  await checkA11y(page, 'profile with errors');
  const me = async () => (await (await page.request.get(`${url}/api/v1/me`)).json()).patient;
  assert.equal((await me()).first_name, 'Rosa', 'nothing was saved');

  await page.locator('#f-email').fill('rosalind@example.org');
  await page.getByLabel('Date of birth').fill('1976-07-16');
  await page.getByRole('button', { name: 'Save details' }).click();
  await page.getByText('Your details are saved.').waitFor();
  const saved = await me();
  assert.equal(saved.first_name, 'Rosalind');
  assert.equal(saved.email, 'rosalind@example.org');
  assert.equal(saved.date_of_birth, '1976-07-16');
  assert.ok(await page.getByText('Rosalind Forgetful', { exact: true }).isVisible());

  // A new phone: a code goes to it; the old one stays until it is entered.
  const next = newPhone();
  const toOld = texts.filter((t) => t.to === phone).length; // its sign-up code
  await page.getByLabel('New phone number').fill(next);
  await page.getByRole('button', { name: 'Send a code' }).click();
  await page.getByText('We sent a code by text message to the new number.').waitFor();
  assert.equal((await me()).phone, phone, 'the old phone stays for now');
  await checkA11y(page, 'profile waiting for the phone code');
  const code = await codeTo(next);
  assert.equal(texts.filter((t) => t.to === phone).length, toOld, 'nothing more to the old phone');
  await page.getByLabel('Code from the text message').fill(code);
  await page.getByRole('button', { name: 'Confirm the new number' }).click();
  await page.getByText('Your phone number is changed.').waitFor();
  assert.equal((await me()).phone, next);
  assert.equal(await page.getByLabel('Code from the text message').count(), 0, 'nothing waits any more');

  // The new number is the login now.
  const other = await newPage(env.chromium.browser);
  await login(other, url, next, 'a long enough password');
  assert.equal(new URL(other.url()).pathname, '/appointments');
  assertNoProblems(page, 'profile edit');
});
