// Schedule changes never strand a visit silently (decision 0022): a doctor
// adds time off over a booked visit, sees the visit listed before anything is
// saved, and cancels it with a reason the patient then reads; and date-specific
// hours are added and removed on the hours page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, newPage, nav, login, checkA11y, assertNoProblems, DEMO } from './helpers.mjs';

const env = useServerAndBrowser();

async function api(url, path, { token, body, method } = {}) {
  const r = await fetch(`${url}/api/v1${path}`, {
    method: method || (body ? 'POST' : 'GET'),
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, body: await r.json() };
}

/** `2026-12-05T09:30` in a time zone, as a datetime-local input takes it. */
function localInput(instant, timeZone) {
  const s = new Intl.DateTimeFormat('sv-SE', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).format(instant);
  return s.replace(' ', 'T');
}

test('time off over a booked visit lists it first and cancels it with a reason', async () => {
  const { url } = env.server;
  // The demo patient books a visit with Dr. Okafor two days ahead (through the API).
  const patient = await api(url, '/sessions', { body: { phone: DEMO.patient.login, password: DEMO.patient.password } });
  assert.equal(patient.status, 201);
  const found = await api(url, '/doctors?q=Okafor');
  const doctor = found.body.items[0];
  const from = new Date(Date.now() + 50 * 3600_000).toISOString();
  const slots = await api(url, `/doctors/${doctor.id}/slots?from=${from}`);
  assert.ok(slots.body.items.length > 0, 'free slots two days ahead');
  const slot = slots.body.items[0];
  const booked = await api(url, '/appointments', {
    token: patient.body.token,
    body: { doctor_id: doctor.id, start: slot.start, reason: 'Follow-up' },
  });
  assert.equal(booked.status, 201, JSON.stringify(booked.body));
  const visitId = booked.body.id;

  // The doctor adds time off over it.
  const page = await newPage(env.chromium.browser, { timezoneId: doctor.timezone });
  await login(page, url, 'amara.okafor@medimeet.test', DEMO.doctorPassword);
  await nav(page, 'Working hours');
  const start = new Date(Date.parse(slot.start) - 3600_000);
  const end = new Date(Date.parse(slot.end) + 3600_000);
  await page.getByLabel('From').fill(localInput(start, doctor.timezone));
  await page.getByLabel('Until').fill(localInput(end, doctor.timezone));
  await page.getByLabel(/Note/).fill('Conference');
  await page.getByRole('button', { name: 'Add time off' }).click();

  // Nothing saved yet: the visit is listed with the two choices.
  await page.getByRole('heading', { name: 'Booked visits are affected' }).waitFor();
  const panel = page.getByRole('region', { name: 'Booked visits are affected' });
  assert.ok(await panel.locator(`[data-affected-visit="${visitId}"]`).isVisible(), 'the booked visit is listed');
  assert.match(await panel.locator(`[data-affected-visit="${visitId}"]`).textContent(), /Pat Demo/);
  assert.equal(await page.getByText('Conference').count(), 0, 'no time off was added yet');
  await checkA11y(page, 'hours page with affected visits');

  // Cancelling needs a reason the patient reads.
  await panel.getByRole('button', { name: 'Cancel the visits and save' }).click();
  await page.locator('#e-cancel_reason').waitFor();
  assert.match(await page.locator('#e-cancel_reason').textContent(), /Give a reason/);
  assert.equal((await api(url, `/appointments/${visitId}`, { token: patient.body.token })).body.status, 'booked');
  await page.getByLabel(/Reason for cancelling/).fill('Dr. Okafor is at a conference');
  await page.getByRole('region', { name: 'Booked visits are affected' })
    .getByRole('button', { name: 'Cancel the visits and save' }).click();
  await page.getByText('Time off added.').waitFor();
  assert.ok(await page.getByText('Conference').isVisible());

  const visit = await api(url, `/appointments/${visitId}`, { token: patient.body.token });
  assert.equal(visit.body.status, 'cancelled');
  assert.equal(visit.body.cancel_reason, 'Dr. Okafor is at a conference');
  assertNoProblems(page, 'doctor');
});

test('date-specific hours are added and removed on the hours page', async () => {
  const { url } = env.server;
  const page = await newPage(env.chromium.browser, { timezoneId: 'Europe/London' });
  await login(page, url, 'james.whitaker@medimeet.test', DEMO.doctorPassword);
  await nav(page, 'Working hours');
  const section = page.getByRole('region', { name: 'Date-specific hours' });
  assert.ok(await section.getByText('No date-specific hours.').isVisible());

  // Half a mistake first: an interval with no end.
  await section.locator('#f-ov_date').fill('2030-01-07');
  await section.getByLabel('Interval 1 starts').fill('09:00');
  await section.getByRole('button', { name: "Save the date's hours" }).click();
  await page.getByText('Give both a start and an end time, or clear both').first().waitFor();
  const again = page.getByRole('region', { name: 'Date-specific hours' });
  assert.equal(await again.locator('#f-ov_date').inputValue(), '2030-01-07', 'the form keeps what was typed');
  await again.getByLabel('Interval 1 ends').fill('11:00');
  await again.getByRole('button', { name: "Save the date's hours" }).click();
  await page.getByText('The hours of that date are saved.').waitFor();
  const item = page.locator('[data-override="2030-01-07"]');
  assert.ok(await item.isVisible());
  assert.match(await item.textContent(), /09:00–11:00/);
  await checkA11y(page, 'hours page with date-specific hours');

  await item.getByRole('button', { name: /Remove/ }).click();
  await page.getByText('That date has its weekly hours again.').waitFor();
  assert.equal(await page.locator('[data-override="2030-01-07"]').count(), 0);
  assertNoProblems(page, 'doctor');
});
