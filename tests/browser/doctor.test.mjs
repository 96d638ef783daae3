// A doctor changes their working hours (with a preview of the slots), sees a
// new booking in the week view and marks it completed.
//
// Completing a visit needs the visit to have started. The server is the test
// build (`cargo build --features test-clock`), whose clock the test moves
// (docs/decisions/0010-test-clock.md): two hours back before the patient
// books, so with the ordinary hour of notice the slot under way now (it
// started up to an hour ago) is still ahead of the server and bookable; then
// two hours forward again, so the visit has started and the doctor completes
// it at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, newPage, nav, login, checkA11y, assertNoProblems, freeTimes, moveClock, DEMO } from './helpers.mjs';

const env = useServerAndBrowser();

test('a doctor sets working hours, sees a new booking in the week and completes it', async () => {
  const { url } = env.server;
  const doctor = await newPage(env.chromium.browser, { timezoneId: 'Europe/London' });
  await login(doctor, url, 'james.whitaker@medimeet.test', DEMO.doctorPassword);
  assert.equal(new URL(doctor.url()).pathname, '/doctor/week');
  assert.ok(await doctor.getByRole('heading', { name: /My week/ }).isVisible());
  await checkA11y(doctor, 'doctor week (empty)');

  // Working hours: a mistake first, reported next to its interval.
  await nav(doctor, 'Working hours');
  await checkA11y(doctor, 'working hours');
  await doctor.locator('#d1r0e').fill('25:00');
  await doctor.getByRole('button', { name: 'Save hours' }).click();
  await doctor.locator('#e-d1r0').waitFor();
  assert.match(await doctor.locator('#e-d1r0').textContent(), /Monday: invalid time of day "25:00"/);
  assert.equal(await doctor.locator('#d1r0e').getAttribute('aria-invalid'), 'true');
  await checkA11y(doctor, 'working hours with an error');

  // Open around the clock, every day (one interval each), and preview it.
  for (let w = 1; w <= 7; w += 1) {
    await doctor.locator(`#d${w}r0s`).fill('00:00');
    await doctor.locator(`#d${w}r0e`).fill('24:00');
    for (let r = 1; r < 8; r += 1) {
      const start = doctor.locator(`#d${w}r${r}s`);
      if ((await start.count()) && (await start.inputValue())) {
        await start.fill('');
        await doctor.locator(`#d${w}r${r}e`).fill('');
      }
    }
  }
  await doctor.getByLabel('Visit length (minutes)').fill('20');
  await doctor.getByRole('button', { name: 'Preview slots' }).click();
  await doctor.getByRole('heading', { name: 'Preview: slots these hours give' }).waitFor();
  const preview = doctor.getByRole('region', { name: 'Preview: slots these hours give' });
  const total = Number((await preview.getByText(/\d+ free slots/).textContent()).match(/(\d+) free slots/)[1]);
  // From now to the end of the sixth day ahead: at least five whole days of
  // 72 slots whatever the time of day (the demo's own hours give far fewer),
  // less the demo visits already booked in them.
  assert.ok(total > 5 * 72, `a week of 20-minute slots around the clock, got ${total}`);
  assert.equal(await doctor.getByLabel('Visit length (minutes)').inputValue(), '20', 'the preview keeps the form');
  await doctor.getByRole('button', { name: 'Save hours' }).click();
  await doctor.getByText('Your working hours are saved.').waitFor();
  assert.equal(await doctor.locator('#d3r0e').inputValue(), '24:00');
  assert.equal(await doctor.locator('#d3r1s').inputValue(), '');

  // Time off, with its own field messages.
  await doctor.getByRole('button', { name: 'Add time off' }).click();
  await doctor.locator('#e-off_start').waitFor();
  await doctor.getByLabel('From').fill('2030-01-02T09:00');
  await doctor.getByLabel('Until').fill('2030-01-02T12:00');
  await doctor.getByLabel(/Note/).fill('Conference');
  await doctor.getByRole('button', { name: 'Add time off' }).click();
  await doctor.getByText('Time off added.').waitFor();
  assert.ok(await doctor.getByText('Conference').isVisible());

  // A patient books the slot that is under way right now (it started less
  // than an hour ago): the server's clock goes two hours back first.
  await moveClock(url, -2 * 3600);
  const patient = await newPage(env.chromium.browser, { timezoneId: 'Europe/London' });
  await login(patient, url, DEMO.patient.login, DEMO.patient.password);
  await patient.goto(`${url}/doctors?q=Whitaker`);
  await patient.getByRole('link', { name: 'See times & book with Dr. James Whitaker' }).click();
  const today = await freeTimes(patient, { from: 0, to: 0 });
  assert.ok(today.length > 0, 'free times today');
  await today[0].radio.check();
  await patient.getByLabel('Reason for the visit').fill('Persistent cough');
  await patient.getByRole('button', { name: 'Book this time' }).click();
  await patient.waitForURL(/\/appointments\/\d+$/);
  const visitId = new URL(patient.url()).pathname.split('/').pop();
  assert.ok(await patient.getByText('20 min').isVisible(), 'the new visit length applies');
  // Back to the present: the visit has started.
  await moveClock(url, 2 * 3600);

  // The doctor sees it in the week view and marks it completed.
  await nav(doctor, 'My week');
  const visit = doctor.locator('.week-visit', { has: doctor.locator(`a[href="/appointments/${visitId}"]`) });
  assert.ok(await visit.getByRole('link', { name: 'Pat Demo', exact: true }).isVisible());
  assert.ok(await visit.getByText('Persistent cough').isVisible());
  assert.ok(await visit.getByText('Booked').isVisible());
  assert.ok(await doctor.locator('.week-day.is-today').locator(`a[href="/appointments/${visitId}"]`).isVisible(),
    'the visit is in today\'s column');
  await checkA11y(doctor, 'doctor week');
  await visit.getByRole('button', { name: /^Completed/ }).click();
  await doctor.getByText('The visit is marked as completed.').waitFor();
  const done = doctor.locator('.week-visit', { has: doctor.locator(`a[href="/appointments/${visitId}"]`) });
  assert.ok(await done.getByText('Completed', { exact: true }).isVisible());
  assert.equal(await done.getByRole('button').count(), 0, 'a completed visit offers no more actions');

  // The patient sees the outcome too.
  await patient.reload();
  assert.ok(await patient.locator('.details').getByText('Completed', { exact: true }).isVisible());

  // The appointment page of the doctor offers cancel with a reason.
  await doctor.goto(`${url}/appointments/${visitId}`);
  assert.ok(await doctor.getByRole('heading', { name: 'Visit with Pat Demo' }).isVisible());
  await checkA11y(doctor, 'appointment (doctor)');
  assertNoProblems(doctor, 'doctor');
  assertNoProblems(patient, 'patient');
});
