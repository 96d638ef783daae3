// A patient's own data (issue 12, decision 0020): download everything held
// about them from the profile page and read the file, then close the account
// (a wrong password first) and find the login refused. The real binary, in a
// real browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { useServerAndBrowser, newPage, nav, login, checkA11y, assertNoProblems, newPhone } from './helpers.mjs';

const env = useServerAndBrowser();

async function api(url, path, { token, body, method } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(`${url}${path}`, {
    method: method ?? (body ? 'POST' : 'GET'),
    headers,
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

test('a patient downloads their data, then closes the account and cannot log in', async () => {
  const { url } = env.server;
  const phone = newPhone();
  const password = 'data long password';
  const reg = await api(url, '/api/v1/patients', { body: { first_name: 'Petra', last_name: 'Data',
    phone, password, date_of_birth: '1975-06-01' } });
  assert.equal(reg.status, 201);
  // A visit booked with a demo doctor, a few days ahead (through the API).
  const session = await api(url, '/api/v1/sessions', { body: { phone, password } });
  assert.equal(session.status, 201);
  const token = session.body.token;
  const doctors = await api(url, '/api/v1/doctors');
  const doctor = doctors.body.items[0];
  const from = new Date(Date.now() + 3 * 86400_000).toISOString();
  const slots = await api(url, `/api/v1/doctors/${doctor.id}/slots?from=${encodeURIComponent(from)}`);
  assert.ok(slots.body.items.length > 0, 'the demo doctor has free times');
  const booked = await api(url, '/api/v1/appointments', { token,
    body: { doctor_id: doctor.id, start: slots.body.items[0].start, reason: 'Petra knee pain' } });
  assert.equal(booked.status, 201);

  const page = await newPage(env.chromium.browser);
  await login(page, url, phone, password);
  await nav(page, 'Profile');
  const data = page.getByRole('region', { name: 'Your data' });
  assert.ok(await data.isVisible());
  await checkA11y(page, 'profile with its data section');

  // The download is a JSON file of this patient's data.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    data.getByRole('link', { name: 'Download my data' }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^medimeet-my-data-\d{4}-\d{2}-\d{2}\.json$/);
  const file = JSON.parse(await readFile(await download.path(), 'utf8'));
  assert.equal(file.profile.id, reg.body.id);
  assert.equal(file.profile.phone, phone);
  assert.equal(file.profile.first_name, 'Petra');
  assert.equal(file.appointments.length, 1);
  assert.equal(file.appointments[0].id, booked.body.id);
  assert.equal(file.appointments[0].reason, 'Petra knee pain');
  assert.equal(file.appointments[0].doctor_name, `${doctor.first_name} ${doctor.last_name}`);
  assert.deepEqual(file.appointments[0].history.map((h) => h.event), ['booked']);
  assert.equal(file.sessions.length, 2, 'the API session and this browser');

  // Closing: the confirmation page, a wrong password first.
  await data.getByRole('link', { name: 'Close my account' }).click();
  await page.waitForURL((u) => u.pathname === '/account/close');
  assert.ok(await page.getByRole('heading', { name: 'Close your account' }).isVisible());
  await checkA11y(page, 'close account');
  await page.getByLabel('Your password', { exact: true }).fill('not the password');
  await page.getByRole('button', { name: 'Close my account' }).click();
  await page.getByText('Your password is wrong').first().waitFor();
  await checkA11y(page, 'close account with an error');
  assert.equal((await api(url, '/api/v1/me', { token })).status, 200, 'nothing changed');

  await page.getByLabel('Your password', { exact: true }).fill(password);
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/login'),
    page.getByRole('button', { name: 'Close my account' }).click(),
  ]);
  await page.getByText('Your account is closed').waitFor();
  // Every session is over, the visit cancelled, and logging in is refused.
  assert.equal((await api(url, '/api/v1/me', { token })).status, 401);
  await page.getByLabel('Phone number or email').fill(phone);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('do not match an account').waitFor();
  assert.equal(new URL(page.url()).pathname, '/login');
  assertNoProblems(page, 'patient data');
});
