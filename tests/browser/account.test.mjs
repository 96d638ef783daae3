// The account page (issue 12): a patient sees where they are logged in, ends
// another session, and changes their password, which logs the other places
// out. The real binary, in a real browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, newPage, nav, login, checkA11y, assertNoProblems, newPhone } from './helpers.mjs';

const env = useServerAndBrowser();

/** Logs in through the API as another device: its token. */
async function otherDevice(url, phone, password, device) {
  const r = await fetch(`${url}/api/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': device },
    body: JSON.stringify({ phone, password }),
  });
  assert.equal(r.status, 201);
  return (await r.json()).token;
}

async function alive(url, token) {
  const r = await fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  return r.status === 200;
}

test('a patient ends a session they do not recognize, then changes the password', async () => {
  const { url } = env.server;
  const phone = newPhone();
  const first = 'first long password';
  const r = await fetch(`${url}/api/v1/patients`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ first_name: 'Ada', last_name: 'Account', phone,
      password: first, date_of_birth: '1980-01-01' }),
  });
  assert.equal(r.status, 201);
  const stranger = await otherDevice(url, phone, first, 'Strange Browser 1.0');
  const tablet = await otherDevice(url, phone, first, 'My Tablet 2.0');

  const page = await newPage(env.chromium.browser);
  await login(page, url, phone, first);
  await nav(page, 'Account');
  assert.equal(new URL(page.url()).pathname, '/account');
  assert.ok(await page.getByRole('heading', { name: 'Account and security' }).isVisible());
  const sessions = page.getByRole('region', { name: 'Where you are logged in' });
  assert.ok(await sessions.getByText('Strange Browser 1.0', { exact: true }).isVisible());
  assert.ok(await sessions.getByText('My Tablet 2.0', { exact: true }).isVisible());
  assert.ok(await sessions.getByText('This device').isVisible());
  await checkA11y(page, 'account');

  // End the stranger's session: it is logged out at once.
  await sessions.getByRole('button', { name: 'End the session of Strange Browser 1.0' }).click();
  await page.getByText('That session is ended').waitFor();
  assert.equal(await alive(url, stranger), false, 'the stranger is logged out');
  assert.equal(await alive(url, tablet), true, 'the tablet is not');
  assert.equal(await sessions.getByText('Strange Browser 1.0', { exact: true }).count(), 0);

  // A wrong current password is said at its field and changes nothing.
  await page.getByLabel('Current password').fill('not the password');
  await page.getByLabel('New password (at least 10 characters)').fill('second long password');
  await page.getByLabel('New password again').fill('second long password');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByText('Current password is wrong').first().waitFor();
  await checkA11y(page, 'account with an error');
  assert.equal(await alive(url, tablet), true);

  // The right one: changed, and the tablet is logged out; this page goes on.
  await page.getByLabel('Current password').fill(first);
  await page.getByLabel('New password (at least 10 characters)').fill('second long password');
  await page.getByLabel('New password again').fill('second long password');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByText('Your password is changed.').waitFor();
  assert.equal(await alive(url, tablet), false, 'the tablet is logged out');
  const relogin = await fetch(`${url}/api/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phone, password: first }),
  });
  assert.equal(relogin.status, 401, 'the old password no longer works');
  assert.ok(await otherDevice(url, phone, 'second long password', 'New Laptop'));
  assertNoProblems(page, 'account');
});
