// Two-step login (issue 12, decision 0019): a doctor turns on TOTP on the
// Account page (the key read from the page, the code computed here with
// HMAC-SHA-1 as an authenticator app does), logs out, and logs in again
// with a code. The real binary, in a real browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { useServerAndBrowser, newPage, nav, login, logout, checkA11y, assertNoProblems, moveClock, DEMO } from './helpers.mjs';

const env = useServerAndBrowser();

/** RFC 4648 base32 to bytes. */
function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of text.replace(/\s+/g, '').toUpperCase()) {
    const v = alphabet.indexOf(ch);
    assert.ok(v >= 0, `base32 letter ${ch}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** RFC 6238: SHA-1, 6 digits, 30-second steps, at unix time `t`. */
function totp(key, t) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(t / 30)));
  const h = createHmac('sha1', key).update(counter).digest();
  const o = h[h.length - 1] & 0x0f;
  const bin = ((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(bin % 1_000_000).padStart(6, '0');
}

/** A new doctor, onboarded by the demo admin through the API. */
async function newDoctor(url) {
  const r = await fetch(`${url}/api/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: DEMO.admin.login, password: DEMO.admin.password }),
  });
  assert.equal(r.status, 201);
  const { token } = await r.json();
  const email = `tess.otp.${Date.now()}@clinic.test`;
  const password = 'doctor long password';
  const d = await fetch(`${url}/api/v1/doctors`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ email, password, first_name: 'Tess', last_name: 'Otp',
      specialty: 'Cardiology', experience_years: 4, timezone: 'UTC', visit_minutes: 30, fee: '50.00' }),
  });
  assert.equal(d.status, 201);
  return { email, password };
}

test('a doctor turns on two-step login and then logs in with a code', async () => {
  const { url } = env.server;
  const { email, password } = await newDoctor(url);
  const page = await newPage(env.chromium.browser);
  await login(page, url, email, password);
  assert.equal(new URL(page.url()).pathname, '/doctor/week');

  await nav(page, 'Account');
  const section = page.getByRole('region', { name: 'Two-step login' });
  assert.ok(await section.getByText('Off.').isVisible());
  await section.getByRole('link', { name: 'Set up two-step login' }).click();
  await page.getByRole('button', { name: 'Start setting up' }).click();
  await page.getByRole('img', { name: /QR code for your authenticator app/ }).waitFor();
  await checkA11y(page, 'two-step login setup');
  const key = base32(await page.locator('#totp-key').innerText());
  assert.equal(key.length, 20, 'a 160-bit key');
  // The QR image is an SVG drawn by the server.
  const src = await page.getByRole('img', { name: /QR code/ }).getAttribute('src');
  assert.ok(src.startsWith('data:image/svg+xml;base64,'), src.slice(0, 40));
  assert.ok(Buffer.from(src.split(',')[1], 'base64').toString().includes('<svg'));

  // A wrong code is said at its field; the right one turns it on.
  const now = () => Date.now() / 1000;
  await page.getByLabel('6-digit code').fill(totp(key, now() + 300));
  await page.getByRole('button', { name: 'Turn on two-step login' }).click();
  await page.getByText('is not the current code').first().waitFor();
  await checkA11y(page, 'setup with a wrong code');
  await page.getByLabel('6-digit code').fill(totp(key, now()));
  await page.getByRole('button', { name: 'Turn on two-step login' }).click();
  await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
  const codes = await page.locator('#recovery-codes code').allInnerTexts();
  assert.equal(codes.length, 10);
  await checkA11y(page, 'recovery codes');
  await page.getByRole('link', { name: 'I have saved them: continue' }).click();
  await page.waitForURL((u) => u.pathname === '/doctor/week');
  await nav(page, 'Account');
  assert.ok(await page.getByRole('region', { name: 'Two-step login' }).getByText('10 of your recovery codes are unused').isVisible());
  await nav(page, 'My week');
  await logout(page);

  // The password alone no longer logs in: the second step asks for the code.
  await page.goto(`${url}/login`);
  await page.getByLabel('Phone number or email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Code from your authenticator app').waitFor();
  await checkA11y(page, 'second step of the login');
  // The code that turned it on was used; the next step's code is new.
  await moveClock(url, 30);
  await page.getByLabel('Code from your authenticator app').fill(totp(key, now() + 30));
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/doctor/week'),
    page.getByRole('button', { name: 'Log in' }).click(),
  ]);
  assert.ok(await page.getByText('You are logged in.').isVisible());
  assertNoProblems(page, 'two-step login');
});
